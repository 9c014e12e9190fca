//! The request → response pipeline shared by both functions.
//!
//! Order of checks: source allowlist (403), CloudEvents preflight (amlyze,
//! 200), method (405), shared secret (401), size (413), content type (415),
//! validation (400), enqueue (202, or 503 when SQS did not take it). A 2xx is
//! only ever returned after SQS accepted every event of the request.

use std::sync::Mutex;
use std::time::Instant;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::config::{Config, ConfigError, Provider};
use crate::envelope::{CloudEvent, Outbound};
use crate::metrics::{unknown_enum_fields, RecentKeys, RequestMetrics};
use crate::problem::{FieldError, Rejection};
use crate::publisher::{sqs_client, Publisher};
use crate::quarantine::QuarantineRecord;
use crate::request::{is_json_media_type, media_type, Incoming};
use crate::timestamp::format_utc;
use crate::{amlyze, artemis};

/// Everything a function needs, built once at init.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub publisher: Publisher,
    /// Dedupe keys seen recently by this instance, for the `Repeats` metric.
    recent: Mutex<RecentKeys>,
}

impl App {
    /// Reads the configuration and builds the SQS client. Fails, naming the
    /// variable, when a setting is missing or malformed.
    pub async fn from_env(provider: Provider) -> Result<Self, ConfigError> {
        let started = Instant::now();
        let config = Config::from_env(provider)?;
        let config_done = started.elapsed();
        let client = sqs_client().await;
        let client_done = started.elapsed();
        let app = Self::new(config, client);
        if app.config.prewarm {
            if let Err(err) = app.publisher.prewarm(&app.config.queue).await {
                // Not fatal: a refusal (say, no sqs:GetQueueAttributes) leaves the
                // connection open all the same; if SQS is unreachable, the first
                // request tries again and answers 503 if it must.
                tracing::warn!(error = %err, "SQS_PREWARM: GetQueueAttributes failed");
            }
        }
        tracing::info!(
            config_us = config_done.as_micros() as u64,
            sdk_client_us = (client_done - config_done).as_micros() as u64,
            prewarm_us = app
                .config
                .prewarm
                .then(|| (started.elapsed() - client_done).as_micros() as u64),
            "initialized"
        );
        Ok(app)
    }

    pub fn new(config: Config, client: aws_sdk_sqs::Client) -> Self {
        Self {
            config,
            publisher: Publisher::new(client),
            recent: Mutex::new(RecentKeys::new(10_000)),
        }
    }

    /// How many of `keys` this instance saw within the last five minutes.
    fn repeats(&self, keys: &[String]) -> usize {
        let now = Instant::now();
        match self.recent.lock() {
            Ok(mut recent) => keys.iter().filter(|key| recent.repeat(key, now)).count(),
            Err(_) => 0,
        }
    }
}

/// Events SQS accepted, in order: ids, SQS message ids, dedupe keys, and the
/// enum fields whose values this build does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub dedupe_keys: Vec<String>,
    pub unknown_enum_fields: Vec<&'static str>,
    pub batch: bool,
}

/// What a successful request gets back.
enum Reply {
    Accepted(Accepted),
    Preflight { origin: String, rate: String },
}

/// Handles one HTTP request end to end. Never fails: every outcome is a response.
///
/// Logs one line per request (outcome, status, provider, ids, dedupe keys,
/// SQS message ids, duration; never payloads) and writes its metrics (EMF).
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let started = Instant::now();
    let received = OffsetDateTime::now_utc();
    let incoming = Incoming::from_request(request);
    let provider = app.config.provider.name();
    let mut metrics = RequestMetrics {
        provider,
        ..RequestMetrics::default()
    };
    let response = match process(app, &incoming, received).await {
        Ok(Reply::Accepted(accepted)) => {
            metrics.accepted = accepted.ids.len();
            metrics.repeats = app.repeats(&accepted.dedupe_keys);
            metrics.unknown_enum_fields = accepted.unknown_enum_fields.clone();
            tracing::info!(
                outcome = "accepted",
                status = 202,
                provider,
                event_ids = ?accepted.ids,
                dedupe_keys = ?accepted.dedupe_keys,
                message_ids = ?accepted.message_ids,
                unknown_enum_fields = ?accepted.unknown_enum_fields,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "accepted"
            );
            let body = match accepted.batch {
                true => json!({ "ids": accepted.ids }),
                false => json!({ "id": accepted.ids[0], "messageId": accepted.message_ids[0] }),
            };
            json_response(202, &body)
        }
        Ok(Reply::Preflight { origin, rate }) => {
            tracing::info!(
                outcome = "preflight",
                status = 200,
                provider,
                "CloudEvents webhook preflight"
            );
            Response::builder()
                .status(200)
                .header("WebHook-Allowed-Origin", origin)
                .header("WebHook-Allowed-Rate", rate)
                .header(ALLOW, Provider::Amlyze.allow())
                .body(Body::Empty)
                .unwrap_or_default()
        }
        Err(rejection) => {
            metrics.rejected = Some(rejection.reason());
            metrics.enqueue_failed = matches!(rejection, Rejection::Unavailable(_));
            if rejection.keeps_request() {
                metrics.quarantined = keep(app, &incoming, &rejection, received).await;
            }
            tracing::warn!(
                outcome = "rejected",
                status = rejection.status(),
                provider,
                reason = rejection.reason(),
                problems = rejection.errors().len(),
                quarantined = metrics.quarantined,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "not accepted"
            );
            rejection.into_response()
        }
    };
    metrics.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics.emit();
    response
}

async fn process(app: &App, incoming: &Incoming, received: OffsetDateTime) -> Result<Reply, Rejection> {
    let config = &app.config;
    if let Some(allowlist) = &config.allowlist {
        if !allowlist.permits(incoming.source_addr()) {
            return Err(Rejection::Forbidden);
        }
    }
    if let Some(reply) = preflight(config, incoming) {
        return Ok(reply);
    }
    let accepted = match config.provider {
        Provider::Artemis => [Method::POST, Method::PUT, Method::PATCH].contains(&incoming.method),
        Provider::Amlyze => incoming.method == Method::POST,
    };
    if !accepted {
        return Err(Rejection::MethodNotAllowed {
            method: incoming.method.to_string(),
            allow: config.provider.allow(),
        });
    }
    if let Some(secret) = &config.secret {
        let token = incoming
            .headers
            .get("x-webhook-token")
            .map(|v| v.as_bytes())
            .or(incoming.query("token").map(str::as_bytes));
        if !secret.matches(token) {
            return Err(Rejection::Unauthorized);
        }
    }
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
    accept(app, incoming, received).await.map(Reply::Accepted)
}

/// Validates, normalizes and enqueues a request that passed the gates (also
/// used to recover requests from logs).
pub async fn accept(app: &App, incoming: &Incoming, received: OffsetDateTime) -> Result<Accepted, Rejection> {
    let config = &app.config;
    let events = parse(config.provider, incoming, received).map_err(Rejection::Invalid)?;
    let batch = config.provider == Provider::Amlyze
        && incoming.header("content-type").map(media_type).as_deref() == Some(amlyze::BATCH);
    let messages: Vec<Outbound> = events.into_iter().map(Outbound::new).collect();
    match app
        .publisher
        .publish(&config.queue, &messages, incoming.trace_header.as_deref())
        .await
    {
        Ok(message_ids) => Ok(Accepted {
            unknown_enum_fields: messages.iter().flat_map(|m| unknown_enum_fields(&m.event)).collect(),
            dedupe_keys: messages.iter().map(|m| m.event.dedupekey.clone()).collect(),
            ids: messages.into_iter().map(|m| m.event.id).collect(),
            message_ids,
            batch,
        }),
        Err(err) => Err(Rejection::Unavailable(err.to_string())),
    }
}

/// Validates and normalizes a request body for the function's vendor.
pub fn parse(
    provider: Provider,
    incoming: &Incoming,
    received: OffsetDateTime,
) -> Result<Vec<CloudEvent>, Vec<FieldError>> {
    match provider {
        Provider::Artemis => artemis::parse(&incoming.body, received),
        Provider::Amlyze => amlyze::parse(&incoming.headers, &incoming.body, received),
    }
}

/// The CloudEvents webhook abuse-protection handshake (amlyze only).
fn preflight(config: &Config, incoming: &Incoming) -> Option<Reply> {
    if config.provider != Provider::Amlyze || incoming.method != Method::OPTIONS {
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

/// Quarantines a refused request; when that is impossible, logs one error
/// record holding the whole request so it can be recovered from the logs.
/// Returns whether the quarantine queue took it.
pub async fn keep(app: &App, incoming: &Incoming, rejection: &Rejection, received: OffsetDateTime) -> bool {
    let record = QuarantineRecord::new(
        app.config.provider.name(),
        format_utc(received),
        incoming,
        rejection.status(),
        rejection.reason(),
        rejection.errors(),
    );
    let failure = match &app.config.quarantine {
        Some(queue) => match app.publisher.quarantine(queue, &record).await {
            Ok(message_id) => {
                tracing::info!(provider = %record.provider, quarantine_message_id = %message_id, "request quarantined");
                return true;
            }
            Err(err) => err.to_string(),
        },
        None => "QUARANTINE_QUEUE_URL is not set".to_owned(),
    };
    tracing::error!(
        provider = %record.provider,
        failure = %failure,
        unqueued_request = %record.to_json(),
        "request could not be queued or quarantined; the whole request is in this record"
    );
    false
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}
