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

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::Method;
use lambda_http::{Body, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::egress::archive::Archive;
use crate::egress::budgets::ANSWER_BUDGET;
use crate::egress::log::{brief, brief_list, panic_text};
use crate::egress::metrics::RequestMetrics;
use crate::egress::problem::{Reader, Rejection};
use crate::egress::publisher::Queues;
use crate::egress::quarantine::quarantine_or_log;
use crate::entry::app::{App, Keeping};
use crate::entry::config::Config;
use crate::entry::enqueue::{validate_and_enqueue, Accepted};
use crate::ingress::request::Incoming;

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

/// Who sent the request, as far as the door could tell, and whether it is
/// kept already.
pub(crate) enum Sender {
    /// Checked in the pipeline (allowlist, token): the rejection's
    /// [`KeepRule`](crate::egress::problem::KeepRule) decides what is kept.
    Checked,
    /// An unreadable event whose sender failed the same checks, for the
    /// reason given: never kept.
    Unestablished(&'static str),
    /// Checked when it first came in, and run again from quarantine (or the
    /// archive's copy of its record), where it stays: never kept twice.
    Quarantined,
}

/// How a callback ended, once logged, kept and counted ([`settle`]): what
/// SQS took or why the request was refused, and whether the quarantine queue
/// took it. What [`App::rerun`] returns.
#[derive(Debug)]
pub struct Settled {
    /// The events SQS accepted, or why the request was refused.
    pub outcome: Result<Accepted, Rejection>,
    /// Whether the refused request was kept in quarantine (the queue took
    /// it); `false` when it was accepted, not kept, or kept only in the log.
    pub quarantined: bool,
}

impl Settled {
    /// The status a caller was (or would have been) answered with: 202 once
    /// SQS took every event, otherwise the rejection's.
    pub fn status(&self) -> u16 {
        match &self.outcome {
            Ok(_) => 202,
            Err(rejection) => rejection.status(),
        }
    }
}

/// The pipeline for a request read from any front door, then [`respond`].
pub(crate) async fn answer<Q: Queues, A: Archive>(app: &App<Q, A>, delivery: &Delivery<'_>) -> Response<Body> {
    let outcome = caught(check_door_and_enqueue(app, delivery.incoming, delivery.received)).await;
    respond(app, delivery, outcome, Sender::Checked).await
}

/// A run of the pipeline with its panic caught: the one place a panic
/// becomes a 500, with the request kept as for a 503.
pub(crate) async fn caught<T>(run: impl Future<Output = Result<T, Rejection>>) -> Result<T, Rejection> {
    AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(Rejection::Internal(format!("panic: {}", panic_text(&*panic)))))
}

/// How every request ends, whatever door it came in by: a callback
/// [`settle`]d (logged, kept if refused, counted), then the response.
pub(crate) async fn respond<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    outcome: Result<Reply, Rejection>,
    sender: Sender,
) -> Response<Body> {
    let callback = match outcome {
        Ok(Reply::Accepted(accepted)) => Ok(accepted),
        Ok(Reply::Preflight { origin, rate }) => return preflight_response(app, delivery, origin, rate),
        Ok(Reply::Health(healthy)) => return health_response(app, healthy),
        Err(rejection) => Err(rejection),
    };
    match settle(app, delivery, callback, sender).await.outcome {
        Ok(accepted) => accepted_response(&accepted),
        Err(rejection) => rejection.into_response(),
    }
}

/// How every callback ends, live or run again: one log line (outcome,
/// status, provider, ids, dedupe keys, SQS message ids, duration; never
/// payloads), a refused request kept as [`App::keeping`] says (quarantine,
/// archive, or the logs), and the request's metrics (EMF).
pub(crate) async fn settle<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    outcome: Result<Accepted, Rejection>,
    sender: Sender,
) -> Settled {
    let mut metrics = metrics_of(app);
    match &outcome {
        Ok(accepted) => log_accepted(app, delivery, accepted, &mut metrics),
        Err(rejection) => keep_and_log(app, delivery, rejection, sender, &mut metrics).await,
    }
    let quarantined = metrics.quarantined;
    emit(delivery, metrics);
    Settled { outcome, quarantined }
}

/// A request's metrics, before anything is counted.
fn metrics_of<Q: Queues, A: Archive>(app: &App<Q, A>) -> RequestMetrics {
    RequestMetrics {
        provider: app.config.provider.name(),
        ..RequestMetrics::default()
    }
}

/// Writes a request's metrics, with its duration so far.
fn emit(delivery: &Delivery<'_>, mut metrics: RequestMetrics) {
    metrics.latency_ms = delivery.started.elapsed().as_secs_f64() * 1000.0;
    metrics.emit();
}

/// Counts and logs what SQS took, with its ids.
fn log_accepted<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    accepted: &Accepted,
    metrics: &mut RequestMetrics,
) {
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
}

/// A 202 naming what SQS took.
fn accepted_response(accepted: &Accepted) -> Response<Body> {
    let body = match accepted.batch {
        true => json!({ "ids": accepted.ids }),
        false => json!({ "id": accepted.ids[0], "messageId": accepted.message_ids[0] }),
    };
    json_response(202, &body)
}

/// The CloudEvents webhook handshake's answer, logged and counted (its
/// duration only).
fn preflight_response<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    origin: String,
    rate: String,
) -> Response<Body> {
    tracing::info!(
        outcome = "preflight",
        status = 200,
        provider = app.config.provider.name(),
        "CloudEvents webhook preflight"
    );
    emit(delivery, metrics_of(app));
    Response::builder()
        .status(200)
        .header("WebHook-Allowed-Origin", origin)
        .header("WebHook-Allowed-Rate", rate)
        .header(ALLOW, app.config.provider.allow())
        .body(Body::Empty)
        .unwrap_or_default()
}

/// The health route's answer: 200 while this region's events queue works,
/// 503 otherwise; a short JSON status, nothing else. Not a callback: no
/// request metrics, so health checks do not blur them.
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

/// A refused request: kept as [`App::keeping`] says (not when its sender
/// could not be established, nor again when it is in quarantine already),
/// counted and logged.
async fn keep_and_log<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    delivery: &Delivery<'_>,
    rejection: &Rejection,
    sender: Sender,
    metrics: &mut RequestMetrics,
) {
    metrics.rejected = Some(rejection.reason());
    metrics.enqueue_failed = matches!(rejection, Rejection::Unavailable(_));
    let keeping = match sender {
        Sender::Checked => app.keeping(rejection),
        Sender::Unestablished(why) => Keeping::SenderUnknown(why),
        Sender::Quarantined => Keeping::AlreadyKept,
    };
    match keeping {
        Keeping::Kept => {
            // What is left of the request's time, within the quarantine's
            // budget; with none left, the request goes to the log at once.
            let mut keeper = app.keeper();
            keeper.budget = keeper
                .budget
                .min(ANSWER_BUDGET.saturating_sub(delivery.started.elapsed()));
            metrics.quarantined = quarantine_or_log(&keeper, delivery.incoming, rejection, delivery.received).await
        }
        Keeping::NotKept | Keeping::AlreadyKept => {}
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
