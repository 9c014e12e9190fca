//! What lands in quarantine: the request exactly as received (secrets
//! redacted), why it was refused, and when, so an operator can fix the cause
//! and replay it; and [`quarantine_or_log`], which puts it there or, when no
//! queue takes it, into the function's log, whole.

use std::panic::AssertUnwindSafe;

use base64::Engine;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::archive::{self, archive_or_log, Archive, Archiver, Kind};
use crate::budgets::QUARANTINE_BUDGET;
use crate::config::QueueUrl;
use crate::log::{brief, error_in_parts, panic_text};
use crate::problem::{Reader, Rejection};
use crate::publisher::{Publisher, Queues};
use crate::request::Incoming;
use crate::sqs_message::{attribute_value, sha256_hex, sqs_safe_json, Message, MAX_MESSAGE_BYTES};
use crate::timestamp::format_utc;

/// Headers whose values never leave the function (header names are
/// case-insensitive; the function sees them in lower case).
pub const REDACTED_HEADERS: &[&str] = &[
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
pub const REDACTED_QUERY: &[&str] = &["token", "access_token", "api_key"];
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
pub fn is_credential(name: &str) -> bool {
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
pub fn redacted_event(event: &[u8]) -> std::borrow::Cow<'_, [u8]> {
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
pub struct RawSender {
    pub source: Option<std::net::IpAddr>,
    pub token: Option<String>,
}

impl RawSender {
    pub fn of(event: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(event) else {
            return Self::default();
        };
        let context = &value["requestContext"];
        let forwarded_for = || crate::request::rightmost_entry(&field_values(&value, "X-Forwarded-For"));
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

/// One quarantined request (the type operators read it with, from the
/// `intake-queue` crate).
pub use intake_queue::QuarantineRecord;

/// At most this much of an oversized body is kept.
pub const MAX_KEPT_BODY: usize = 128 * 1024;

/// The record of `incoming`, refused as `rejection`.
pub fn record_of(provider: &str, receivedtime: String, incoming: &Incoming, rejection: &Rejection) -> QuarantineRecord {
    let (errors, errors_truncated) = rejection.listed_errors(Reader::Operator);
    let mut headers = Map::new();
    for name in incoming.headers.keys() {
        let value = if is_credential(name.as_str()) {
            REDACTED.to_owned()
        } else {
            incoming
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        headers.insert(name.as_str().to_owned(), Value::String(value));
    }
    let query = incoming
        .query
        .iter()
        .map(|(k, v)| {
            let value = if is_credential(k) { REDACTED } else { v.as_str() };
            (k.clone(), Value::String(value.to_owned()))
        })
        .collect();
    // Only a body over MAX_BODY_BYTES is cut (a 413, or a 401 kept behind an
    // allowlist before the size was checked); every other is kept whole.
    let over_limit = matches!(rejection, Rejection::PayloadTooLarge { .. })
        || incoming.body.len() > crate::config::BODY_LIMIT_CEILING;
    let (kept, body_truncated_from) = if over_limit && incoming.body.len() > MAX_KEPT_BODY {
        (&incoming.body[..MAX_KEPT_BODY], Some(incoming.body.len()))
    } else {
        (&incoming.body[..], None)
    };
    let (body, body_encoding) = match std::str::from_utf8(kept) {
        Ok(text) => (text.to_owned(), None),
        Err(_) => (base64_of(kept), Some("base64".to_owned())),
    };
    let mut record = QuarantineRecord {
        provider: provider.to_owned(),
        receivedtime,
        request_id: incoming.request_id.clone(),
        status: rejection.status(),
        reason: rejection.reason().to_owned(),
        errors,
        errors_truncated,
        method: incoming.method.to_string(),
        path: incoming.path.clone(),
        query,
        source_ip: incoming.source_ip.clone(),
        headers,
        body,
        body_encoding,
        body_truncated_from,
    };
    // Text escaped in JSON can grow sixfold (a body of control characters);
    // base64 grows by a third: use it when the text would not fit a message.
    if record.body_encoding.is_none() && to_json(&record).len() > MAX_RECORD_BYTES {
        record.body = base64_of(kept);
        record.body_encoding = Some("base64".to_owned());
    }
    record
}

/// The record as JSON text SQS accepts (see [`sqs_safe_json`]).
pub fn to_json(record: &QuarantineRecord) -> String {
    sqs_safe_json(serde_json::to_string(record).unwrap_or_default())
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The most a record's JSON may take so that, with its message attributes, it
/// fits one SQS message.
pub const MAX_RECORD_BYTES: usize = MAX_MESSAGE_BYTES - 1024;

/// The quarantine queue's message for a record whose JSON is `body`:
/// attributes `provider` and `reason` for filtering, and on a FIFO queue one
/// group per provider and a deduplication id from the body.
pub fn message_of(record: &QuarantineRecord, body: String, fifo: bool) -> Message {
    let attributes = [("provider", &record.provider), ("reason", &record.reason)]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), attribute_value(value)?)))
        .collect();
    let (group_id, deduplication_id) = if fifo {
        (
            Some(format!("quarantine:{}", record.provider)),
            Some(sha256_hex(body.as_bytes())),
        )
    } else {
        (None, None)
    };
    Message {
        body,
        attributes,
        group_id,
        deduplication_id,
        trace_header: None,
    }
}

/// What keeping a refused request takes: whose request it is, the
/// quarantine queue (if any) and the publisher that sends to it, and the
/// archive (if any). Built by [`crate::App::keeper`].
pub struct Keeper<'a, Q, A> {
    pub provider: &'static str,
    pub queue: Option<&'a QueueUrl>,
    pub publisher: &'a Publisher<Q>,
    pub archiver: Option<&'a Archiver<A>>,
}

/// Quarantines a refused request, and archives its record at the same time;
/// when no queue takes it, logs the whole request (in numbered parts when it
/// is large) so it can be recovered from the logs. Returns whether the
/// quarantine queue took it.
pub async fn quarantine_or_log<Q: Queues, A: Archive>(
    keeper: &Keeper<'_, Q, A>,
    incoming: &Incoming,
    rejection: &Rejection,
    received: OffsetDateTime,
) -> bool {
    let kept = AssertUnwindSafe(queue_record_or_log(keeper, incoming, rejection, received))
        .catch_unwind()
        .await;
    kept.unwrap_or_else(|panic| {
        tracing::error!(
            request_id = %brief(&incoming.request_id),
            panic = %brief(&panic_text(&*panic)),
            "keeping the request failed"
        );
        false
    })
}

async fn queue_record_or_log<Q: Queues, A: Archive>(
    keeper: &Keeper<'_, Q, A>,
    incoming: &Incoming,
    rejection: &Rejection,
    received: OffsetDateTime,
) -> bool {
    let record = record_of(keeper.provider, format_utc(received), incoming, rejection);
    let body = to_json(&record);
    let records = keeper.archiver.map(|_| {
        archive::records(
            Kind::Quarantine,
            &record.provider,
            &record.receivedtime,
            &record.request_id,
            &body,
        )
    });
    let archived = archive_or_log(
        keeper.archiver,
        &record.provider,
        records.unwrap_or_default(),
        QUARANTINE_BUDGET,
    );
    let queued = async {
        match keeper.queue {
            Some(queue) => {
                let message = message_of(&record, body.clone(), queue.fifo);
                keeper
                    .publisher
                    .send_one(queue, &message, QUARANTINE_BUDGET)
                    .await
                    .map_err(|err| err.to_string())
            }
            None => Err("QUARANTINE_QUEUE_URL is not set".to_owned()),
        }
    };
    let (queued, _) = tokio::join!(queued, archived);
    match queued {
        Ok(message_id) => {
            tracing::info!(provider = %record.provider, quarantine_message_id = %message_id, "request quarantined");
            true
        }
        Err(failure) => {
            log_whole_request(&record, &body, &failure);
            false
        }
    }
}

/// Logs `record` whole: in one `unqueued_request` field, or, when larger than
/// [`crate::log::LOG_PART_BYTES`], in numbered `unqueued_request_part` records that
/// `recover` joins again (`part_of` names the whole; `part`/`parts` number it).
fn log_whole_request(record: &QuarantineRecord, json: &str, failure: &str) {
    let failure = brief(failure);
    let message = "request could not be queued or quarantined; the whole request is in this record";
    error_in_parts!(json, unqueued_request, unqueued_request_part, message; provider = %record.provider, failure = %failure);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::FieldError;
    use lambda_http::http::{HeaderMap, Method};

    fn incoming(body: &[u8]) -> Incoming {
        let mut headers = HeaderMap::new();
        headers.insert("x-webhook-token", "s3cret".parse().unwrap());
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.insert("cookie", "session=1".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.append("x-many", "a".parse().unwrap());
        headers.append("x-many", "b".parse().unwrap());
        Incoming {
            method: Method::POST,
            path: "/hooks/artemis".into(),
            query: vec![("token".into(), "s3cret".into()), ("x".into(), "1".into())],
            headers,
            source_ip: Some("203.0.113.9".into()),
            body: body.to_vec(),
            trace_header: None,
            request_id: "req-9".into(),
        }
    }

    fn invalid() -> Rejection {
        Rejection::Invalid(vec![])
    }

    #[test]
    fn secrets_are_redacted_and_the_body_kept_verbatim() {
        let record = record_of("artemis", "t".into(), &incoming(b"{\"a\": 1 }"), &invalid());
        assert_eq!(record.request_id, "req-9");
        let json = to_json(&record);
        assert!(
            !json.contains("s3cret") && !json.contains("Bearer") && !json.contains("session=1"),
            "{json}"
        );
        assert_eq!(record.headers["content-type"], "application/json");
        assert_eq!(record.headers["x-many"], "a, b");
        assert_eq!(record.query["x"], "1");
        assert_eq!(record.body, "{\"a\": 1 }");
        assert_eq!(record.body_encoding, None);
        let back: QuarantineRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn every_credential_header_and_query_parameter_is_redacted_in_any_case() {
        let mut request = incoming(b"{}");
        for (i, name) in REDACTED_HEADERS.iter().enumerate() {
            // Header names reach the function in lower case whatever the sender wrote.
            let name: lambda_http::http::HeaderName = name.to_ascii_uppercase().parse().unwrap();
            request.headers.insert(name, format!("credential-{i}").parse().unwrap());
        }
        for (i, name) in REDACTED_QUERY.iter().enumerate() {
            request
                .query
                .push((name.to_ascii_uppercase(), format!("query-credential-{i}")));
            request
                .query
                .push((name.to_string(), format!("query-credential-lower-{i}")));
        }
        let record = record_of("artemis", "t".into(), &request, &invalid());
        let json = to_json(&record);
        assert!(!json.contains("credential-"), "{json}");
        for name in REDACTED_HEADERS {
            assert_eq!(record.headers[*name], REDACTED, "{name}");
        }
        for name in ["x-api-key", "x-amz-security-token", "x-auth-token", "api-key"] {
            assert!(REDACTED_HEADERS.contains(&name), "{name} is on the list");
        }
        for name in ["token", "access_token", "api_key"] {
            assert!(REDACTED_QUERY.contains(&name), "{name} is on the list");
        }
    }

    #[test]
    fn names_that_hold_a_credential_are_redacted_whatever_their_exact_form() {
        for name in [
            "x-access-token",
            "X-Webhook-Secret",
            "apikey",
            "sig",
            "X-Hub-Signature-256",
            "session_id",
            "password",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in [
            "content-type",
            "ce-id",
            "ce-source",
            "ce-subject",
            "ce-type",
            "ce-time",
            "x-amzn-trace-id",
            "x",
        ] {
            assert!(!is_credential(name), "{name}");
        }
        let mut request = incoming(b"{}");
        request.headers.insert("x-access-token", "leak-1".parse().unwrap());
        request.query.push(("apikey".into(), "leak-2".into()));
        let json = to_json(&record_of("artemis", "t".into(), &request, &invalid()));
        assert!(!json.contains("leak-"), "{json}");
    }

    #[test]
    fn an_unreadable_event_is_kept_with_its_credentials_redacted_in_every_form() {
        // One event per form a front door uses for headers, query and cookies.
        let forms = [
            serde_json::json!({"headers": {"X-Webhook-Token": "leak", "content-type": "application/json"}}),
            serde_json::json!({"multiValueHeaders": {"authorization": ["leak", "leak"]}}),
            serde_json::json!({"queryStringParameters": {"token": "leak"}}),
            serde_json::json!({"multiValueQueryStringParameters": {"api_key": ["leak"]}}),
            serde_json::json!({"rawQueryString": "a=b c|d%&token=leak&Sig=leak&x=1"}),
            serde_json::json!({"cookies": ["session=leak", "other=leak"]}),
        ];
        for form in forms {
            let raw = form.to_string();
            let kept = redacted_event(raw.as_bytes());
            let text = String::from_utf8(kept.to_vec()).unwrap();
            assert!(!text.contains("leak"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        let redacted: Value =
            serde_json::from_slice(&redacted_event(br#"{"rawQueryString":"a=b c|d%&token=leak&x=1"}"#)).unwrap();
        assert_eq!(
            redacted["rawQueryString"], "a=b c|d%&token=[redacted]&x=1",
            "the rest as it was"
        );
        let clean = br#"{"headers": {"ce-id": "1"},   "body": "x"}"#;
        assert!(redacted_event(clean) == &clean[..], "nothing to redact: byte for byte");
        assert!(redacted_event(b"not json") == &b"not json"[..]);
    }

    #[test]
    fn the_sender_of_a_raw_event_is_read_where_each_front_door_puts_it() {
        let sender = |event: Value| RawSender::of(event.to_string().as_bytes());
        let ip = |text: &str| text.parse::<std::net::IpAddr>().ok();
        let rest = sender(serde_json::json!({
            "requestContext": {"identity": {"sourceIp": "203.0.113.9"}},
            "headers": {"X-Webhook-Token": "from-header"},
            "queryStringParameters": {"token": "from-query"}
        }));
        assert_eq!(
            (rest.source, rest.token.as_deref()),
            (ip("203.0.113.9"), Some("from-header"))
        );
        let http = sender(serde_json::json!({
            "requestContext": {"http": {"sourceIp": "2001:db8::1"}},
            "rawQueryString": "a=b c|d%&token=a%20b"
        }));
        assert_eq!((http.source, http.token.as_deref()), (ip("2001:db8::1"), Some("a b")));
        let alb = sender(serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn"}},
            "multiValueHeaders": {"x-forwarded-for": ["10.0.0.1, 198.51.100.7"], "x-webhook-token": ["t"]},
            "multiValueQueryStringParameters": {"token": ["q"]}
        }));
        assert_eq!(
            (alb.source, alb.token.as_deref()),
            (ip("198.51.100.7"), Some("t")),
            "the balancer's entry"
        );
        let spoofed = sender(serde_json::json!({"headers": {"x-forwarded-for": "203.0.113.9"}}));
        assert_eq!(spoofed.source, None, "X-Forwarded-For counts behind an ALB only");
        assert_eq!(RawSender::of(b"not json"), RawSender::default());
    }

    #[test]
    fn binary_bodies_are_base64() {
        let bytes = [0xff, 0xfe, 0x00, 0x41];
        let record = record_of("amlyze", "t".into(), &incoming(&bytes), &invalid());
        assert_eq!(record.body_encoding.as_deref(), Some("base64"));
        assert_eq!(record.body_bytes().unwrap(), bytes);
        assert!(to_json(&record).contains("\"bodyEncoding\":\"base64\""));
    }

    #[test]
    fn a_body_that_escaping_would_blow_up_is_kept_as_base64_and_fits() {
        // Regression (issue 9, class 4): 256 KiB of control characters became a
        // record of 1.5 MiB once JSON-escaped.
        let body: Vec<u8> = (0..256 * 1024).map(|i| (i % 31 + 1) as u8).collect();
        let errors = (0..5000)
            .map(|i| FieldError::new(format!("f{i}\u{1}"), "\u{1}".repeat(600)))
            .collect();
        let record = record_of("artemis", "t".into(), &incoming(&body), &Rejection::Invalid(errors));
        assert_eq!(record.body_encoding.as_deref(), Some("base64"));
        assert_eq!(record.body_bytes().unwrap(), body);
        assert_eq!(record.errors_truncated, Some(4900));
        assert!(to_json(&record).len() <= MAX_RECORD_BYTES, "{}", to_json(&record).len());
        let plain = record_of("artemis", "t".into(), &incoming(b"{\"a\":\"\x01\"}"), &invalid());
        assert_eq!(plain.body_encoding, None, "a small body stays readable text");
    }

    #[test]
    fn a_body_over_the_limit_is_cut_whatever_the_refusal() {
        // Found by the whole-pipeline property test: a 401 kept behind an
        // allowlist (checked before the size) held a body of any size.
        let body = vec![b'x'; crate::config::BODY_LIMIT_CEILING + 1];
        let record = record_of("artemis", "t".into(), &incoming(&body), &Rejection::Unauthorized);
        assert_eq!(record.body_truncated_from, Some(body.len()));
        assert_eq!(record.body.len(), MAX_KEPT_BODY);
        let limit = vec![b'x'; crate::config::BODY_LIMIT_CEILING];
        let whole = record_of("artemis", "t".into(), &incoming(&limit), &Rejection::Unauthorized);
        assert_eq!(whole.body_truncated_from, None, "a body within the limit is kept whole");
    }
}
