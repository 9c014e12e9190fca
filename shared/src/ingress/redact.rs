//! Credentials out of everything kept or logged, whatever their exact name
//! and wherever they sit in a request or a raw Lambda event; and who sent an
//! event no front-door format could read ([`RawSender`]), read from the raw
//! JSON before anything of it is kept.

use serde_json::Value;

/// Headers whose values never leave the function (header names are
/// case-insensitive; the function sees them in lower case).
pub(crate) const REDACTED_HEADERS: &[&str] = &[
    "x-webhook-token",
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-amz-security-token",
];
/// Query parameters whose values never leave the function (any case).
pub(crate) const REDACTED_QUERY: &[&str] = &["token", "access_token", "api_key"];
/// What a credential is replaced with wherever a request is kept or logged.
pub const REDACTED: &str = "[redacted]";

/// Parts of a header or query parameter name that mark a credential (any
/// case): its value never leaves the function, whatever the exact name
/// (`x-access-token`, `x-webhook-secret`, `?apikey=`, `?sig=`, …).
const CREDENTIAL_MARKS: &[&str] = &[
    "token",
    "secret",
    "key",
    "auth",
    "sig",
    "session",
    "password",
    "cookie",
    "credential",
];

/// Whether the value of a header or query parameter named `name` is a
/// credential: a name on [`REDACTED_HEADERS`] or [`REDACTED_QUERY`], or one
/// holding any of [`CREDENTIAL_MARKS`].
pub(crate) fn is_credential(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    REDACTED_HEADERS.contains(&lower.as_str())
        || REDACTED_QUERY.contains(&lower.as_str())
        || CREDENTIAL_MARKS.iter().any(|mark| lower.contains(mark))
}

/// A raw Lambda event no front-door format could read, with every credential
/// it holds redacted where the front doors put them: `headers`,
/// `multiValueHeaders`, `queryStringParameters`,
/// `multiValueQueryStringParameters`, `rawQueryString` and `cookies`. An
/// event with nothing to redact (or that is not a JSON object) is kept byte
/// for byte; one with something redacted is kept as the same JSON with those
/// values replaced. It is kept for years in the archive: it must hold no
/// secret.
pub(crate) fn redacted_event(event: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Ok(Value::Object(mut value)) = serde_json::from_slice::<Value>(event) else {
        return std::borrow::Cow::Borrowed(event);
    };
    let mut changed = false;
    for field in [
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
    ] {
        if let Some(Value::Object(map)) = value.get_mut(field) {
            for (name, entry) in map.iter_mut() {
                if is_credential(name) && !is_redacted(entry) {
                    *entry = match entry {
                        Value::Array(items) => Value::Array(vec![Value::from(REDACTED); items.len()]),
                        _ => Value::from(REDACTED),
                    };
                    changed = true;
                }
            }
        }
    }
    if let Some(Value::Array(cookies)) = value.get_mut("cookies") {
        if cookies.iter().any(|c| c != REDACTED) {
            cookies.iter_mut().for_each(|c| *c = Value::from(REDACTED));
            changed = true;
        }
    }
    if let Some(Value::String(query)) = value.get_mut("rawQueryString") {
        let redacted = redacted_query(query);
        if redacted != *query {
            *query = redacted;
            changed = true;
        }
    }
    match changed {
        true => std::borrow::Cow::Owned(serde_json::to_vec(&value).unwrap_or_default()),
        false => std::borrow::Cow::Borrowed(event),
    }
}

/// What a raw Lambda event shows of its sender, read where each front door
/// puts it: the source address (REST v1 `requestContext.identity.sourceIp`;
/// HTTP API and function URL `requestContext.http.sourceIp`; ALB, which has
/// neither, the right-most `X-Forwarded-For` entry, the one the balancer
/// appended), and the token (`X-Webhook-Token` in `headers` or
/// `multiValueHeaders`, any case, else `token` in `queryStringParameters`,
/// `multiValueQueryStringParameters` or `rawQueryString`). `None` where the
/// event does not say.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RawSender {
    pub source: Option<std::net::IpAddr>,
    pub token: Option<String>,
}

impl RawSender {
    pub fn of(event: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(event) else {
            return Self::default();
        };
        let context = &value["requestContext"];
        let forwarded_for = || crate::ingress::request::rightmost_entry(&field_values(&value, "X-Forwarded-For"));
        let source = context["identity"]["sourceIp"]
            .as_str()
            .or(context["http"]["sourceIp"].as_str())
            .map(str::to_owned)
            .or_else(|| context.get("elb").and_then(|_| forwarded_for()))
            .and_then(|ip| ip.trim().parse().ok());
        let token = field_values(&value, "X-Webhook-Token").pop().or_else(|| {
            let query = ["queryStringParameters", "multiValueQueryStringParameters"]
                .iter()
                .filter_map(|field| value[field].get("token"))
                .find_map(|v| v.as_str().or(v.as_array()?.last()?.as_str()).map(str::to_owned));
            query.or_else(|| {
                value["rawQueryString"].as_str()?.split('&').find_map(|pair| {
                    let (name, token) = pair.split_once('=')?;
                    (name == "token").then(|| {
                        percent_encoding::percent_decode_str(token)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                })
            })
        });
        Self { source, token }
    }
}

/// Every value of the header `name` (any case) in `headers` and
/// `multiValueHeaders`, in order.
fn field_values(event: &Value, name: &str) -> Vec<String> {
    let mut values = Vec::new();
    for field in ["headers", "multiValueHeaders"] {
        if let Some(map) = event[field].as_object() {
            for (_, entry) in map.iter().filter(|(key, _)| key.eq_ignore_ascii_case(name)) {
                match entry {
                    Value::String(v) => values.push(v.clone()),
                    Value::Array(items) => values.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned))),
                    _ => {}
                }
            }
        }
    }
    values
}

fn is_redacted(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(|v| v == REDACTED),
        other => other == REDACTED,
    }
}

/// A raw query string with the value of every credential parameter redacted.
fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential(&percent_encoding::percent_decode_str(name).decode_utf8_lossy()) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}
