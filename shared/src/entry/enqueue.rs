//! The steps after the door's checks (allowlist, secret, method): size,
//! content type, validation, enqueueing. What a live request that passed the
//! door goes through (`handler`), and a kept request run again (`rerun`).

use lambda_http::http::header::CONTENT_TYPE;
use time::OffsetDateTime;

use crate::egress::archive::{self, archive_or_log, Archive, Kind};
use crate::egress::budgets::ARCHIVE_BUDGET;
use crate::egress::envelope::{CloudEvent, Outbound};
use crate::egress::problem::Rejection;
use crate::egress::publisher::{Published, Queues};
use crate::entry::app::App;
use crate::entry::config::Config;
use crate::ingress::request::{is_json_media_type, media_type, Incoming};
use crate::vendors::vendor::Parsed;
use platform::sqs::{Message, MAX_MESSAGE_BYTES};

/// Events SQS accepted, in order: ids, SQS message ids, dedupe keys, and the
/// enum fields whose values this build does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The events' `id`s, as answered in the 202.
    pub ids: Vec<String>,
    /// The ids SQS gave the messages.
    pub message_ids: Vec<String>,
    /// The events' `dedupekey`s (for the `Repeats` metric).
    pub dedupe_keys: Vec<String>,
    /// Enum fields whose values this build does not know (for the metric).
    pub unknown_enum_fields: Vec<&'static str>,
    /// Whether the request was a CloudEvents batch (answered with `ids`).
    pub batch: bool,
    /// How many of the events the fallback queue in the other region took
    /// (the local queue failed or was being skipped).
    pub spilled: usize,
}

/// Size, content type, validation, enqueueing: what a request that passed
/// the door goes through, and what [`App::rerun`] runs a kept request
/// through again.
pub(crate) async fn validate_and_enqueue<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    incoming: &Incoming,
    received: OffsetDateTime,
) -> Result<Accepted, Rejection> {
    let Prepared { parsed, messages } = prepare(&app.config, incoming, received)?;
    let provider = app.config.provider.name();
    let records = match app.archiver {
        Some(_) => parsed
            .events
            .iter()
            .zip(&messages)
            .flat_map(|(event, message)| {
                archive::records(
                    Kind::Event,
                    provider,
                    &event.receivedtime,
                    &incoming.request_id,
                    &message.body,
                )
            })
            .collect(),
        None => Vec::new(),
    };
    // The archive runs beside the SQS send, within a shorter budget; what it
    // refuses (or has not taken in time) is logged for `recover`, and the
    // answer does not change.
    let (published, _) = tokio::join!(
        app.publisher.publish(app.events_route(), &messages),
        archive_or_log(app.archiver.as_ref(), provider, records, ARCHIVE_BUDGET),
    );
    match published {
        Ok(Published { message_ids, spilled }) => Ok(Accepted {
            dedupe_keys: parsed.events.iter().map(|e| e.dedupekey.clone()).collect(),
            ids: parsed.events.into_iter().map(|e| e.id).collect(),
            message_ids,
            unknown_enum_fields: parsed.unknown_enum_fields,
            batch: parsed.batch,
            spilled,
        }),
        Err(err) => Err(Rejection::Unavailable(err.to_string())),
    }
}

/// A request that passed every check, ready to enqueue.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// What parsing found: the events (normalized as queued), whether the
    /// request was a batch, the unknown enum values.
    pub(crate) parsed: Parsed,
    /// One per event, each checked against SQS's limits.
    pub(crate) messages: Vec<Message>,
}

/// Size, content type, validation and normalization: everything [`validate_and_enqueue`]
/// does but enqueueing (a rerun's dry run, [`App::check_rerun`], stops here).
pub(crate) fn prepare(config: &Config, incoming: &Incoming, received: OffsetDateTime) -> Result<Prepared, Rejection> {
    if incoming.body.len() > config.max_body_bytes {
        return Err(Rejection::PayloadTooLarge {
            size: incoming.body.len(),
            limit: config.max_body_bytes,
        });
    }
    if let Some(content_type) = incoming.headers.get(CONTENT_TYPE) {
        let text = String::from_utf8_lossy(content_type.as_bytes());
        if !is_json_media_type(&media_type(&text)) {
            return Err(Rejection::UnsupportedMediaType(text.into_owned()));
        }
    }
    let mut parsed = config
        .provider
        .vendor()
        .parse(incoming, received)
        .map_err(Rejection::Invalid)?;
    let trace_header = incoming.trace_header.as_deref();
    let (events, messages): (Vec<CloudEvent>, Vec<Message>) = parsed
        .events
        .into_iter()
        .map(|event| Outbound::new(event, config.queue.fifo, trace_header))
        .map(|outbound| (outbound.event, outbound.message))
        .unzip();
    parsed.events = events;
    for message in &messages {
        fits_sqs(message, config.queue.fifo)?;
    }
    Ok(Prepared { parsed, messages })
}

/// The last check before a message leaves: one SQS would refuse is never
/// sent. Too large is the sender's (413, kept); anything else is a bug of
/// this build (500, kept), since messages are made to SQS's rules.
fn fits_sqs(message: &Message, fifo: bool) -> Result<(), Rejection> {
    if message.size() > MAX_MESSAGE_BYTES {
        return Err(Rejection::TooLargeForQueue { size: message.size() });
    }
    let violations = message.violations(fifo);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Rejection::Internal(format!(
            "a message broke SQS's rules: {}",
            violations.join("; ")
        )))
    }
}
