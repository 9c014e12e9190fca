//! The request → response pipeline shared by both functions.
//!
//! With `HEALTH_CHECK` on, a `GET …/health` is answered first (200 or 503:
//! whether this region's events queue works), before any check, and nothing
//! is kept. Order of checks: source allowlist (403), shared secret (401), CloudEvents
//! preflight (vendors that use it, 200), method (405), size (413), content type (415),
//! validation (400), enqueue (202, or 503 when SQS did not take it). A 2xx is
//! only ever returned after SQS accepted every event of the request. A panic
//! anywhere in that pipeline is caught: 500, and the request is kept as for a
//! 503.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::Method;
use lambda_http::{Body, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::egress::archive::{self, archive_or_log, Archive, Kind};
use crate::egress::budgets::{ANSWER_BUDGET, ARCHIVE_BUDGET};
use crate::egress::envelope::{CloudEvent, Outbound};
use crate::egress::log::{brief, brief_list, panic_text};
use crate::egress::metrics::RequestMetrics;
use crate::egress::problem::{Reader, Rejection};
use crate::egress::publisher::{Published, Queues};
use crate::egress::quarantine::quarantine_or_log;
use crate::entry::app::{App, Keeping};
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

/// What a successful request gets back.
pub(crate) enum Reply {
    Accepted(Accepted),
    Preflight {
        origin: String,
        rate: String,
    },
    /// The health route's answer: whether this region's events queue works.
    Health(bool),
}

/// One request on its way through: what came in, and when it arrived (for
/// the events' `receivedtime` and the answer's duration).
pub(crate) struct Delivery<'a> {
    pub(crate) incoming: &'a Incoming,
    pub(crate) started: Instant,
    pub(crate) received: OffsetDateTime,
}

/// Who sent the request, as far as the door could tell.
pub(crate) enum Sender {
    /// Checked in the pipeline (allowlist, token): the rejection's
    /// [`KeepRule`](crate::egress::problem::KeepRule) decides what is kept.
    Checked,
    /// An unreadable event whose sender failed the same checks, for the
    /// reason given: never kept.
    Unestablished(&'static str),
}

/// The pipeline for a request read from any front door, then [`respond`]. A
/// panic anywhere in the pipeline is caught here, the one place: a 500, with
/// the request kept as for a 503.
pub(crate) async fn answer<Q: Queues, A: Archive>(app: &App<Q, A>, delivery: &Delivery<'_>) -> Response<Body> {
    let outcome = AssertUnwindSafe(check_door_and_enqueue(app, delivery.incoming, delivery.received))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(Rejection::Internal(format!("panic: {}", panic_text(&*panic)))));
    respond(app, delivery, outcome, Sender::Checked).await
}

/// How every request ends, whatever door it came in by: one log line
/// (outcome, status, provider, ids, dedupe keys, SQS message ids, duration;
/// never payloads), a refused request kept (quarantine, archive, or the
/// logs), the request's metrics (EMF), and the response.
pub(crate) async fn respond<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    outcome: Result<Reply, Rejection>,
    sender: Sender,
) -> Response<Body> {
    let mut metrics = RequestMetrics {
        provider: app.config.provider.name(),
        ..RequestMetrics::default()
    };
    let response = match outcome {
        Ok(Reply::Accepted(accepted)) => accepted_response(app, delivery, accepted, &mut metrics),
        Ok(Reply::Preflight { origin, rate }) => preflight_response(app, origin, rate),
        // Not a callback: no request metrics, so health checks do not blur them.
        Ok(Reply::Health(healthy)) => return health_response(app, healthy),
        Err(rejection) => refused_response(app, delivery, rejection, sender, &mut metrics).await,
    };
    metrics.latency_ms = delivery.started.elapsed().as_secs_f64() * 1000.0;
    metrics.emit();
    response
}

/// A 202 naming what SQS took, logged with its ids.
fn accepted_response<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    accepted: Accepted,
    metrics: &mut RequestMetrics,
) -> Response<Body> {
    metrics.accepted = accepted.ids.len();
    metrics.spilled_to_fallback = accepted.spilled;
    metrics.repeats = app.repeats(&accepted.dedupe_keys);
    metrics.unknown_enum_fields = accepted.unknown_enum_fields.clone();
    tracing::info!(
        outcome = "accepted",
        status = 202,
        provider = metrics.provider,
        request_id = %brief(&delivery.incoming.request_id),
        event_ids = ?brief_list(&accepted.ids),
        dedupe_keys = ?brief_list(&accepted.dedupe_keys),
        message_ids = ?brief_list(&accepted.message_ids),
        queue = if accepted.spilled == 0 { "local" } else { "fallback" },
        unknown_enum_fields = ?accepted.unknown_enum_fields,
        elapsed_ms = delivery.started.elapsed().as_secs_f64() * 1000.0,
        "accepted"
    );
    let body = match accepted.batch {
        true => json!({ "ids": accepted.ids }),
        false => json!({ "id": accepted.ids[0], "messageId": accepted.message_ids[0] }),
    };
    json_response(202, &body)
}

/// The CloudEvents webhook handshake's answer.
fn preflight_response<Q: Queues, A: Archive>(app: &App<Q, A>, origin: String, rate: String) -> Response<Body> {
    tracing::info!(
        outcome = "preflight",
        status = 200,
        provider = app.config.provider.name(),
        "CloudEvents webhook preflight"
    );
    Response::builder()
        .status(200)
        .header("WebHook-Allowed-Origin", origin)
        .header("WebHook-Allowed-Rate", rate)
        .header(ALLOW, app.config.provider.allow())
        .body(Body::Empty)
        .unwrap_or_default()
}

/// The health route's answer: 200 while this region's events queue works,
/// 503 otherwise; a short JSON status, nothing else.
fn health_response<Q: Queues, A: Archive>(app: &App<Q, A>, healthy: bool) -> Response<Body> {
    let (status, word) = if healthy { (200, "healthy") } else { (503, "unhealthy") };
    tracing::info!(
        outcome = "health",
        status,
        provider = app.config.provider.name(),
        "health check"
    );
    json_response(status, &json!({ "status": word }))
}

/// A refused request: kept as [`App::keeping`] says (or not, when its
/// sender could not be established), logged, and answered with its problem.
async fn refused_response<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    rejection: Rejection,
    sender: Sender,
    metrics: &mut RequestMetrics,
) -> Response<Body> {
    metrics.rejected = Some(rejection.reason());
    metrics.enqueue_failed = matches!(rejection, Rejection::Unavailable(_));
    let keeping = match sender {
        Sender::Checked => app.keeping(&rejection),
        Sender::Unestablished(why) => Keeping::SenderUnknown(why),
    };
    match keeping {
        Keeping::Kept => {
            // What is left of the request's time, within the quarantine's
            // budget; with none left, the request goes to the log at once.
            let mut keeper = app.keeper();
            keeper.budget = keeper
                .budget
                .min(ANSWER_BUDGET.saturating_sub(delivery.started.elapsed()));
            metrics.quarantined = quarantine_or_log(&keeper, delivery.incoming, &rejection, delivery.received).await
        }
        Keeping::NotKept => {}
        Keeping::OverMinuteBudget => metrics.unauthorized_not_kept = true,
        Keeping::SenderUnknown(why) => {
            tracing::warn!(reason = why, "the sender could not be established: not kept")
        }
    }
    tracing::warn!(
        outcome = "rejected",
        status = rejection.status(),
        provider = metrics.provider,
        request_id = %brief(&delivery.incoming.request_id),
        reason = rejection.reason(),
        problems = rejection.problem_count(),
        detail = %brief(&rejection.listed_errors(Reader::Operator).0.first().map(|e| e.message.clone()).unwrap_or_default()),
        quarantined = metrics.quarantined,
        elapsed_ms = delivery.started.elapsed().as_secs_f64() * 1000.0,
        "not accepted"
    );
    rejection.into_response()
}

async fn check_door_and_enqueue<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    incoming: &Incoming,
    received: OffsetDateTime,
) -> Result<Reply, Rejection> {
    let config = &app.config;
    if config.health_check && is_health_check(incoming) {
        return Ok(Reply::Health(app.healthy().await));
    }
    if let Some(allowlist) = &config.allowlist {
        if !allowlist.permits(incoming.source_addr()) {
            return Err(Rejection::Forbidden);
        }
    }
    if let Some(token) = &app.token {
        let presented = incoming
            .headers
            .get("x-webhook-token")
            .map(|v| v.as_bytes())
            .or(incoming.query("token").map(str::as_bytes));
        if !token.accepts(presented).await {
            return Err(Rejection::Unauthorized);
        }
    }
    if let Some(reply) = preflight(config, incoming) {
        return Ok(reply);
    }
    if !config.provider.accepts(&incoming.method) {
        return Err(Rejection::MethodNotAllowed {
            method: incoming.method.to_string(),
            allow: config.provider.allow(),
        });
    }
    validate_and_enqueue(app, incoming, received).await.map(Reply::Accepted)
}

/// The steps after the caller's checks (allowlist, secret, method): size,
/// content type, validation, enqueueing. What a request that passed those
/// checks goes through, and what `recover` and `redrive` run a kept request
/// through again.
pub async fn validate_and_enqueue<Q: Queues, A: Archive>(
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
pub struct Prepared {
    /// What parsing found: the events (normalized as queued), whether the
    /// request was a batch, the unknown enum values.
    pub parsed: Parsed,
    /// One per event, each checked against SQS's limits.
    pub messages: Vec<Message>,
}

/// Size, content type, validation and normalization: everything [`validate_and_enqueue`]
/// does but enqueueing (a redrive's dry run stops here).
pub fn prepare(config: &Config, incoming: &Incoming, received: OffsetDateTime) -> Result<Prepared, Rejection> {
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

/// A `GET` whose path has a `health` segment (`/health`, `/health/artemis`,
/// `/prod/health/artemis`): the health route, with `HEALTH_CHECK` on.
fn is_health_check(incoming: &Incoming) -> bool {
    incoming.method == Method::GET && incoming.path.split('/').any(|segment| segment == "health")
}

/// The CloudEvents webhook abuse-protection handshake, for a vendor that uses it.
fn preflight(config: &Config, incoming: &Incoming) -> Option<Reply> {
    if !config.provider.vendor().answers_preflight() || incoming.method != Method::OPTIONS {
        return None;
    }
    let origin = incoming.header("webhook-request-origin")?.trim();
    let origin = if origin.is_empty() { "*" } else { origin };
    let rate = config.allowed_rate.clone().unwrap_or_else(|| "*".to_owned());
    Some(Reply::Preflight {
        origin: origin.to_owned(),
        rate,
    })
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}
