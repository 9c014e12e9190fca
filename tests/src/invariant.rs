//! The invariant of "Nothing is lost" for one request through the whole
//! pipeline (`intake::invoke`, real Lambda events for each front door) with
//! in-memory queues that apply SQS's limits. Shared by the property test
//! (`tests/pipeline.rs`) and the pipeline fuzz target (`fuzz/`).
//!
//! For every request: no panic, a response under Lambda's 6 MB, no message
//! SQS would refuse, and
//! - 2xx: every event of the request is on the queue, nothing in quarantine;
//! - 400, 413, 415, 500, 503 (and 401 behind an allowlist): the exact request
//!   is in quarantine (for a body over `MAX_BODY_BYTES`, its first bytes),
//!   nothing on the queue;
//! - 403, 405, the preflight, 401 without an allowlist: nothing kept;
//! - the archive (in memory, with Firehose's limits) holds every message on
//!   either queue exactly once, byte for byte, and nothing else.

use intake::kept::QuarantineRecord;
use intake::testing::{MemoryArchive, MemoryQueues};
use intake::{App, Config, Provider};
use platform::sqs::MAX_RESPONSE_BYTES;
use serde_json::Value;

use crate::{Call, FrontDoor};

pub const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
pub const FIFO_QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo";
pub const QUARANTINE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/quarantine";
/// The other region's queues, for a [`Setup`] with `sick_region`.
pub const FALLBACK: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/events";
pub const FALLBACK_FIFO: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/events.fifo";
pub const FALLBACK_QUARANTINE: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/quarantine";
/// The secret a [`Setup`] with `secret` expects.
pub const SECRET: &str = "s3cret-token";

/// How the function is configured.
#[derive(Debug, Clone)]
pub struct Setup {
    pub provider: Provider,
    pub fifo: bool,
    /// `ALLOWED_SOURCE_CIDRS`; calls come from 203.0.113.9.
    pub allowlist: Option<&'static str>,
    pub secret: bool,
    /// Fallback queues in another region are configured, and both local
    /// queues fail every call: what is kept must be kept there.
    pub sick_region: bool,
}

/// An app with in-memory queues for `setup`.
pub fn app(setup: &Setup) -> App<MemoryQueues, MemoryArchive> {
    let queue = if setup.fifo { FIFO_QUEUE } else { QUEUE };
    let config = Config::from_lookup(setup.provider, |var| match var {
        "QUEUE_URL" => Some(queue.to_owned()),
        "QUARANTINE_QUEUE_URL" => Some(QUARANTINE.to_owned()),
        "ALLOWED_SOURCE_CIDRS" => setup.allowlist.map(str::to_owned),
        "SHARED_SECRET" => setup.secret.then(|| SECRET.to_owned()),
        "ARCHIVE_STREAM" => Some("intake-archive".to_owned()),
        "ALLOW_UNAUTHENTICATED" => Some("true".to_owned()),
        "FALLBACK_QUEUE_URL" if setup.sick_region => Some(if setup.fifo { FALLBACK_FIFO } else { FALLBACK }.to_owned()),
        "FALLBACK_QUARANTINE_QUEUE_URL" if setup.sick_region => Some(FALLBACK_QUARANTINE.to_owned()),
        _ => None,
    })
    .expect("a valid configuration");
    let queues = MemoryQueues::checked_by(crate::schemas::check_message);
    if setup.sick_region {
        queues.set_down(queue, true);
        queues.set_down(QUARANTINE, true);
    }
    App::with_queues(config, queues)
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what())
    }
}

/// Runs `call` through `door` and checks the invariant; returns the status.
pub async fn check(setup: &Setup, call: &Call, door: FrontDoor) -> Result<u16, String> {
    let app = app(setup);
    let queue = app.config.queue.url.clone();
    let response = crate::invoke(&app, &call.event(door).to_string()).await;
    let status = response.status().as_u16();
    let queues = app.publisher.queues();
    let size = response.body().len();
    ensure(size <= MAX_RESPONSE_BYTES, || format!("a response of {size} bytes"))?;
    let violations = queues.violations();
    ensure(violations.is_empty(), || {
        format!("messages SQS would refuse: {violations:?}")
    })?;
    ensure(![500, 502, 503].contains(&status), || {
        format!("status {status} with working queues")
    })?;
    let (queued, kept) = match setup.sick_region {
        true => {
            let fallback = app
                .config
                .fallback
                .as_ref()
                .and_then(|f| f.queue.as_ref())
                .ok_or("no fallback")?;
            ensure(
                queues.take(&queue).is_empty() && queues.take(QUARANTINE).is_empty(),
                || "a queue that is down took a message".to_owned(),
            )?;
            (queues.take(&fallback.url), queues.take(FALLBACK_QUARANTINE))
        }
        false => (queues.take(&queue), queues.take(QUARANTINE)),
    };
    check_archive(&app, &queued, &kept, setup.fifo)?;
    let keeps = matches!(status, 400 | 413 | 415 | 500 | 503) || (status == 401 && setup.allowlist.is_some());
    if (201..300).contains(&status) {
        let answer: Value = serde_json::from_slice(response.body()).map_err(|e| e.to_string())?;
        let ids = match answer.get("ids").and_then(Value::as_array) {
            Some(ids) => ids.clone(),
            None => vec![answer["id"].clone()],
        };
        ensure(kept.is_empty(), || "a 2xx request in quarantine".to_owned())?;
        if !setup.fifo {
            ensure(queued.len() == ids.len(), || {
                format!("{} of {} events on the queue", queued.len(), ids.len())
            })?;
        }
        for message in &queued {
            let event: Value = serde_json::from_str(&message.body).map_err(|e| e.to_string())?;
            ensure(ids.contains(&event["id"]), || {
                "a queued event the response did not name".to_owned()
            })?;
        }
    } else if keeps {
        ensure(queued.is_empty(), || format!("something queued for a {status}"))?;
        ensure(kept.len() == 1, || {
            format!("{} quarantine records for a {status}", kept.len())
        })?;
        let record: QuarantineRecord = serde_json::from_str(&kept[0].body).map_err(|e| e.to_string())?;
        ensure(record.method == call.method, || "the record's method".to_owned())?;
        ensure(record.status == status, || "the record's status".to_owned())?;
        if call.body.len() > app.config.max_body_bytes {
            // Beyond MAX_BODY_BYTES (a 413, or a 401 checked before the size)
            // the record may keep the first bytes only.
            ensure(
                record.body_truncated_from.is_some() || record.body_bytes().as_ref() == Some(&call.body),
                || "an over-limit body neither kept nor marked truncated".to_owned(),
            )?;
        } else {
            let kept_body = record.body_bytes().unwrap_or_default();
            ensure(kept_body == call.body, || {
                format!(
                    "the body is not kept exactly ({} bytes sent, {} kept, status {status})",
                    call.body.len(),
                    kept_body.len()
                )
            })?;
        }
    } else {
        ensure(queued.is_empty() && kept.is_empty(), || {
            format!("something kept for a {status}")
        })?;
    }
    Ok(status)
}

/// The archive holds every queued and quarantined message exactly once,
/// byte for byte, within Firehose's limits. (A FIFO queue drops a second copy
/// of one delivery within a batch; the archive keeps what was sent: there,
/// the same deliveries, by `source` and `id`.)
fn check_archive(
    app: &App<MemoryQueues, MemoryArchive>,
    queued: &[platform::sqs::Message],
    kept: &[platform::sqs::Message],
    fifo: bool,
) -> Result<(), String> {
    let archive = app.archiver.as_ref().ok_or("no archive")?.archive();
    let violations = archive.violations();
    ensure(violations.is_empty(), || {
        format!("records Firehose would refuse: {violations:?}")
    })?;
    let records = archive.records();
    let lines = records.iter().map(|r| std::str::from_utf8(r).unwrap_or_default());
    let (archived, unreadable) = intake::kept::join_parts(lines);
    ensure(unreadable == 0, || {
        format!("{unreadable} archive records that do not read or join")
    })?;
    if fifo {
        let delivery = |body: &str| {
            let event: Value = serde_json::from_str(body).unwrap_or_default();
            (event["source"].to_string(), event["id"].to_string())
        };
        let mut sent: Vec<_> = queued.iter().map(|m| delivery(&m.body)).collect();
        let mut got: Vec<_> = archived
            .iter()
            .filter(|m| m.kind == "event")
            .map(|m| delivery(&m.message))
            .collect();
        sent.sort();
        got.sort();
        got.dedup();
        ensure(sent == got, || {
            "the archived deliveries are not the queued ones".to_owned()
        })?;
        let quarantined = archived.iter().filter(|m| m.kind == "quarantine").count();
        return ensure(quarantined == kept.len(), || {
            "quarantine records not archived once".to_owned()
        });
    }
    let mut expected: Vec<(&str, &str)> = queued
        .iter()
        .map(|m| ("event", m.body.as_str()))
        .chain(kept.iter().map(|m| ("quarantine", m.body.as_str())))
        .collect();
    let mut got: Vec<(&str, &str)> = archived.iter().map(|m| (m.kind.as_str(), m.message.as_str())).collect();
    expected.sort_unstable();
    got.sort_unstable();
    ensure(expected == got, || {
        format!(
            "{} messages kept, {} archived (or not byte for byte)",
            expected.len(),
            got.len()
        )
    })
}
