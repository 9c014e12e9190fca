//! `make verify STACK=…`: a deployed stack proves itself. One probe request
//! per vendor goes through the stack's own webhook URL with the vendor's
//! token, as the vendor would send it; the answer must be a 202; then the
//! probe's event must reach the archive (Firehose buffers up to five
//! minutes), and its object must carry the Object Lock retention the stack
//! was deployed with (`ArchiveLockMode`, `ArchiveRetentionDays`): the check
//! that Firehose can write into the locked bucket and that S3 locks what it
//! writes.
//!
//! A probe is an event from no vendor, marked by its type (it ends in
//! [`intake_queue::PROBE_TYPE_SUFFIX`]) and its subject
//! ([`intake_queue::PROBE_SUBJECT`]): consumers skip it
//! ([`intake_queue::Event::is_probe`]), the reference consumer included.
//! The steps are plain functions here; `src/bin/verify.rs` runs them.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use intake::kept::join_parts;
use intake_queue::PROBE_SUBJECT;
use platform::timestamp::format_utc;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// The header both routes read the token from.
const TOKEN_HEADER: &str = "x-webhook-token";

/// What the stack says about itself: its outputs and its parameters.
#[derive(Debug, Default, Clone)]
pub struct StackFacts {
    pub outputs: HashMap<String, String>,
    pub parameters: HashMap<String, String>,
}

/// One vendor's route in the stack: its webhook URL and the secret holding
/// its token (none when the route admits by source range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: &'static str,
    pub url: String,
    pub secret: Option<String>,
}

/// The retention the stack asks Object Lock for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub mode: String,
    pub days: i64,
}

/// The retention an archive object carries.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    pub mode: Option<String>,
    pub until: Option<OffsetDateTime>,
}

impl StackFacts {
    /// Reads `stack`'s outputs and parameters.
    pub async fn read(cloudformation: &aws_sdk_cloudformation::Client, stack: &str) -> Result<StackFacts, String> {
        let described = cloudformation
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|err| {
                format!(
                    "describe stack {stack}: {}",
                    aws_sdk_cloudformation::error::DisplayErrorContext(err)
                )
            })?;
        let found = described
            .stacks()
            .first()
            .ok_or_else(|| format!("no stack named {stack}"))?;
        let outputs = found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        let parameters = found
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value()?.to_owned())))
            .collect();
        Ok(StackFacts { outputs, parameters })
    }

    /// Both vendors' routes, from the outputs `ArtemisWebhookUrl`,
    /// `AmlyzeWebhookUrl`, `ArtemisSecret` and `AmlyzeSecret`.
    pub fn routes(&self) -> Result<Vec<Route>, String> {
        [("artemis", "Artemis"), ("amlyze", "Amlyze")]
            .into_iter()
            .map(|(provider, output)| {
                let url = self.outputs.get(&format!("{output}WebhookUrl")).ok_or_else(|| {
                    format!("the stack has no {output}WebhookUrl output: is it this project's stack?")
                })?;
                Ok(Route {
                    provider,
                    url: url.clone(),
                    secret: self.outputs.get(&format!("{output}Secret")).cloned(),
                })
            })
            .collect()
    }

    /// The archive's bucket, when the stack has one (`Archive=true`).
    pub fn archive_bucket(&self) -> Option<&str> {
        self.outputs.get("ArchiveBucket").map(String::as_str)
    }

    /// The retention the stack was deployed with.
    pub fn lock(&self) -> Result<Lock, String> {
        let mode = self
            .parameters
            .get("ArchiveLockMode")
            .ok_or("the stack has no ArchiveLockMode parameter")?;
        let days = self
            .parameters
            .get("ArchiveRetentionDays")
            .ok_or("the stack has no ArchiveRetentionDays parameter")?;
        let days = days
            .parse()
            .map_err(|_| format!("ArchiveRetentionDays is not a number of days: {days:?}"))?;
        Ok(Lock {
            mode: mode.clone(),
            days,
        })
    }
}

/// One probe request, as its vendor would send it (the token is added when
/// it is sent, never kept here).
#[derive(Debug, Clone)]
pub struct Probe {
    pub provider: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The probe for `provider`, sent at `sent`; `nonce` makes it unique.
/// Artemis: a valid callback whose `action` is `PROBE` (type
/// `co.cynopsis.artemis.customer.probe`). Amlyze: a binary-mode CloudEvent of
/// type `com.webhook-intake.probe` from source `webhook-intake-verify`.
/// Both about [`PROBE_SUBJECT`], and naming no person.
pub fn probe(provider: &'static str, sent: OffsetDateTime, nonce: &str) -> Probe {
    let sent = format_utc(sent);
    let note = format!("a probe from make verify, sent {sent}, not a vendor's callback");
    let json = vec![("content-type", "application/json".to_owned())];
    match provider {
        "artemis" => Probe {
            provider,
            headers: json,
            body: json!({
                "customerId": 0,
                "customerReferenceId": PROBE_SUBJECT,
                "profileReferenceId": PROBE_SUBJECT,
                "status": "PENDING",
                "riskRating": null,
                "action": "PROBE",
                "message": note,
                "customerType": "INDIVIDUAL",
            })
            .to_string(),
        },
        _ => Probe {
            provider,
            headers: [
                ("ce-specversion", "1.0".to_owned()),
                ("ce-id", format!("probe-{nonce}")),
                ("ce-source", "webhook-intake-verify".to_owned()),
                ("ce-type", "com.webhook-intake.probe".to_owned()),
                ("ce-subject", PROBE_SUBJECT.to_owned()),
                ("ce-time", sent),
            ]
            .into_iter()
            .chain(json)
            .collect(),
            body: json!({ "probe": true, "note": note }).to_string(),
        },
    }
}

/// The HTTP client for the webhook URLs: HTTPS with the system's roots (a
/// custom domain may use any CA), or plain HTTP for a local stack.
pub type WebClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// Builds the [`WebClient`].
pub fn web_client() -> Result<WebClient, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|err| format!("the system's root certificates: {err}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector))
}

/// Posts `probe` to `url` with `token` (when the route uses one); the
/// answer's status and body.
pub async fn send(client: &WebClient, url: &str, probe: &Probe, token: Option<&str>) -> Result<(u16, String), String> {
    let mut request = hyper::Request::post(url);
    for (name, value) in &probe.headers {
        request = request.header(*name, value);
    }
    if let Some(token) = token {
        request = request.header(TOKEN_HEADER, token);
    }
    let request = request
        .body(Full::new(Bytes::from(probe.body.clone())))
        .map_err(|err| format!("{url}: {err}"))?;
    let call = client.request(request);
    let response = tokio::time::timeout(std::time::Duration::from_secs(30), call)
        .await
        .map_err(|_| format!("{url}: no answer within 30 s"))?
        .map_err(|err| format!("{url}: {err}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("{url}: reading the answer: {err}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The event id a 202 gave, or why the answer is not the one expected.
pub fn accepted_id(status: u16, body: &str) -> Result<String, String> {
    let brief = platform::sqs::truncate(body, 300);
    let why = match status {
        202 => {
            let id = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|answer| answer["id"].as_str().map(str::to_owned));
            return id.ok_or_else(|| format!("a 202 without an event id: {brief}"));
        }
        401 => "the token was refused: is the secret's current version the one the function reads?",
        403 => "refused at the door: the route admits by source range (or a WAF) and this machine is outside it",
        429 => "throttled at the door (the route's rate limit)",
        503 => "the function could not queue it (SQS): the request is kept; see the dashboard",
        _ => "not the expected 202",
    };
    Err(format!("{status}: {why}: {brief}"))
}

/// The key prefixes under which the stream files an event record that
/// arrived between `sent` and `now` (`kind=event/dt=<UTC date>/`).
pub fn event_prefixes(sent: OffsetDateTime, now: OffsetDateTime) -> Vec<String> {
    let mut prefixes = Vec::new();
    let mut day = sent.date();
    while day <= now.date() {
        prefixes.push(format!("kind=event/dt={day}/"));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    prefixes
}

/// Whether an archive object's NDJSON holds the event record of `id`.
pub fn holds_event(text: &str, id: &str) -> bool {
    let (messages, _) = join_parts(text.lines());
    messages.iter().any(|m| {
        m.kind == "event"
            && serde_json::from_str::<Value>(&m.message).is_ok_and(|event| event["id"].as_str() == Some(id))
    })
}

/// Checks an archive object's retention against the stack's `lock`: the same
/// mode, and kept until about `days` after it was written (S3 counts from
/// the object's creation; a day's slack either way). What it found, or why
/// it fails.
pub fn check_retention(lock: &Lock, retention: &Retention, written: OffsetDateTime) -> Result<String, String> {
    let (Some(mode), Some(until)) = (&retention.mode, retention.until) else {
        return Err(format!(
            "no Object Lock retention on the object (expected {} for {} days): the bucket's default retention did not apply, or this role may not read it (s3:GetObjectRetention)",
            lock.mode, lock.days
        ));
    };
    if *mode != lock.mode {
        return Err(format!("Object Lock mode {mode}, but the stack asks for {}", lock.mode));
    }
    let expected = written + Duration::days(lock.days);
    let off = until - expected;
    if off.abs() > Duration::days(1) {
        return Err(format!(
            "retained until {}, but the stack asks for {} days from {} ({})",
            format_utc(until),
            lock.days,
            format_utc(written),
            format_utc(expected)
        ));
    }
    Ok(format!("{mode} until {}", format_utc(until)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        platform::timestamp::parse(text).unwrap()
    }

    #[test]
    fn each_probe_is_a_valid_callback_whose_event_is_a_probe() {
        let sent = at("2026-12-05T10:00:00Z");
        let artemis = probe("artemis", sent, "n1");
        let parsed =
            intake::testing::artemis::parse(artemis.body.as_bytes(), sent, "req-1").expect("a valid Artemis body");
        let event = intake_queue::Event::from_json(&serde_json::to_string(&parsed.events[0]).unwrap()).unwrap();
        assert!(event.is_probe(), "{:?}", event.attributes());
        assert_eq!(event.attributes().subject, Some(PROBE_SUBJECT));

        let amlyze = probe("amlyze", sent, "n1");
        let mut headers = lambda_http::http::HeaderMap::new();
        for (name, value) in &amlyze.headers {
            headers.insert(*name, value.parse().unwrap());
        }
        let parsed =
            intake::testing::amlyze::parse(&headers, amlyze.body.as_bytes(), sent).expect("a valid CloudEvent");
        let event = intake_queue::Event::from_json(&serde_json::to_string(&parsed.events[0]).unwrap()).unwrap();
        assert!(event.is_probe(), "{:?}", event.attributes());
        assert_eq!(event.attributes().id, "probe-n1");
    }

    fn facts(outputs: &[(&str, &str)], parameters: &[(&str, &str)]) -> StackFacts {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        StackFacts {
            outputs: map(outputs),
            parameters: map(parameters),
        }
    }

    #[test]
    fn the_routes_and_the_lock_come_from_the_stack() {
        let stack = facts(
            &[
                ("ArtemisWebhookUrl", "https://a/prod/hooks/artemis"),
                ("AmlyzeWebhookUrl", "https://a/prod/hooks/amlyze"),
                ("ArtemisSecret", "arn:secret:a"),
            ],
            &[("ArchiveLockMode", "COMPLIANCE"), ("ArchiveRetentionDays", "1825")],
        );
        let routes = stack.routes().unwrap();
        assert_eq!(routes[0].secret.as_deref(), Some("arn:secret:a"));
        assert_eq!(routes[1].secret, None, "a route that admits by range");
        assert_eq!(
            stack.lock().unwrap(),
            Lock {
                mode: "COMPLIANCE".into(),
                days: 1825
            }
        );
        assert!(stack.archive_bucket().is_none());
        assert!(facts(&[], &[]).routes().unwrap_err().contains("ArtemisWebhookUrl"));
        assert!(
            facts(&[], &[("ArchiveLockMode", "GOVERNANCE"), ("ArchiveRetentionDays", "x")])
                .lock()
                .is_err()
        );
    }

    #[test]
    fn only_a_202_with_an_id_passes() {
        assert_eq!(accepted_id(202, r#"{"id":"e-1","messageId":"m"}"#).unwrap(), "e-1");
        assert!(accepted_id(202, "{}").is_err());
        assert!(accepted_id(401, "{}").unwrap_err().contains("token"));
        assert!(accepted_id(403, "").unwrap_err().contains("source range"));
    }

    #[test]
    fn the_prefixes_span_midnight() {
        assert_eq!(
            event_prefixes(at("2026-12-05T23:58:00Z"), at("2026-12-06T00:03:00Z")),
            ["kind=event/dt=2026-12-05/", "kind=event/dt=2026-12-06/"]
        );
        assert_eq!(
            event_prefixes(at("2026-12-05T10:00:00Z"), at("2026-12-05T10:05:00Z")),
            ["kind=event/dt=2026-12-05/"]
        );
    }

    #[test]
    fn the_retention_must_be_the_stacks() {
        let lock = Lock {
            mode: "GOVERNANCE".into(),
            days: 30,
        };
        let written = at("2026-12-05T10:00:00Z");
        let held = |mode: &str, until: &str| Retention {
            mode: Some(mode.into()),
            until: Some(at(until)),
        };
        assert!(check_retention(&lock, &held("GOVERNANCE", "2027-01-04T10:00:00Z"), written).is_ok());
        assert!(check_retention(&lock, &held("GOVERNANCE", "2027-01-04T00:00:00Z"), written).is_ok());
        assert!(
            check_retention(&lock, &held("COMPLIANCE", "2027-01-04T10:00:00Z"), written)
                .unwrap_err()
                .contains("mode")
        );
        assert!(
            check_retention(&lock, &held("GOVERNANCE", "2026-12-06T10:00:00Z"), written)
                .unwrap_err()
                .contains("30 days")
        );
        assert!(check_retention(&lock, &Retention::default(), written)
            .unwrap_err()
            .contains("no Object Lock"));
    }

    #[test]
    fn the_probes_event_is_found_among_the_records() {
        let record = |kind: &str, id: &str| {
            json!({"kind": kind, "provider": "amlyze", "receivedtime": "t", "requestId": "r",
                "message": {"id": id}})
            .to_string()
        };
        let text = [record("quarantine", "probe-1"), record("event", "other")].join("\n");
        assert!(!holds_event(&text, "probe-1"), "only an event record counts");
        assert!(holds_event(
            &format!("{text}\n{}", record("event", "probe-1")),
            "probe-1"
        ));
    }
}
