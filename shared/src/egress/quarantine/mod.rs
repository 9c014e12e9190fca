//! What lands in quarantine: the request exactly as received (secrets
//! redacted), why it was refused, and when, so an operator can fix the cause
//! and replay it; and [`quarantine_or_log`], which puts it there or, when no
//! queue takes it, into the function's log, whole.

use std::panic::AssertUnwindSafe;

use base64::Engine;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::egress::archive::{self, archive_or_log, Archive, Archiver, Kind};
use std::time::Duration;

use crate::egress::budgets::ARCHIVE_BUDGET;
use crate::egress::log::{brief, error_in_parts, panic_text};
use crate::egress::problem::{Reader, Rejection};
use crate::egress::publisher::QueueUrl;
use crate::egress::publisher::{Publisher, Queues, Route, Taker};
use crate::ingress::redact::{is_credential, REDACTED};
use crate::ingress::request::Incoming;
use platform::sqs::{attribute_value, sha256_hex, sqs_safe_json, Message, MAX_MESSAGE_BYTES};
use platform::timestamp::format_utc;

/// One quarantined request (the type operators read it with, from the
/// `intake-queue` crate).
pub use intake_queue::QuarantineRecord;

/// At most this much of an oversized body is kept.
pub(crate) const MAX_KEPT_BODY: usize = 128 * 1024;

/// The record of `incoming`, refused as `rejection`.
pub(crate) fn record_of(
    provider: &str,
    receivedtime: String,
    incoming: &Incoming,
    rejection: &Rejection,
) -> QuarantineRecord {
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
        || incoming.body.len() > crate::ingress::request::BODY_LIMIT_CEILING;
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
pub(crate) fn message_of(record: &QuarantineRecord, body: String, fifo: bool) -> Message {
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
/// quarantine queue (if any) and its fallback in the other region (if any),
/// the publisher that sends to them, the archive (if any), and how long all
/// that may take. Built by [`crate::App::keeper`].
pub struct Keeper<'a, Q, A> {
    /// The vendor's name, written in the record.
    pub provider: &'static str,
    /// `QUARANTINE_QUEUE_URL`; without it the request is logged whole.
    pub queue: Option<&'a QueueUrl>,
    /// `FALLBACK_QUARANTINE_QUEUE_URL`: where the record goes when the
    /// quarantine queue fails.
    pub fallback: Option<&'a QueueUrl>,
    /// Sends the record within the quarantine's budget.
    pub publisher: &'a Publisher<Q>,
    /// The archive, which gets a copy of every record kept.
    pub archiver: Option<&'a Archiver<A>>,
    /// The most the queue and archive sends may take together; past it the
    /// request is logged.
    pub budget: Duration,
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
        keeper.budget.min(ARCHIVE_BUDGET),
    );
    let queued = async {
        match keeper.queue {
            Some(queue) => {
                let message = message_of(&record, body.clone(), queue.fifo);
                let route = Route {
                    local: queue,
                    fallback: keeper.fallback,
                };
                keeper
                    .publisher
                    .send_one(route, &message, keeper.budget)
                    .await
                    .map_err(|err| err.to_string())
            }
            None => Err("QUARANTINE_QUEUE_URL is not set".to_owned()),
        }
    };
    let (queued, _) = tokio::join!(queued, archived);
    match queued {
        Ok(published) => {
            let message_id = published.message_ids.first().map_or("", String::as_str);
            let queue = match published.taker() {
                Taker::Local => "local",
                Taker::Fallback => "fallback",
            };
            tracing::info!(provider = %record.provider, quarantine_message_id = %message_id, queue, "request quarantined");
            true
        }
        Err(failure) => {
            log_whole_request(&record, &body, &failure);
            false
        }
    }
}

/// Logs `record` whole: in one `unqueued_request` field, or, when larger than
/// [`crate::egress::log::LOG_PART_BYTES`], in numbered `unqueued_request_part` records that
/// `recover` joins again (`part_of` names the whole; `part`/`parts` number it).
fn log_whole_request(record: &QuarantineRecord, json: &str, failure: &str) {
    let failure = brief(failure);
    let message = "request could not be queued or quarantined; the whole request is in this record";
    error_in_parts!(json, unqueued_request, unqueued_request_part, message; provider = %record.provider, failure = %failure);
}

#[cfg(test)]
mod tests;
