//! The request → response pipeline shared by both functions.
//!
//! Order of checks: source allowlist (403), CloudEvents preflight (amlyze,
//! 200), method (405), shared secret (401), size (413), content type (415),
//! validation (400), enqueue (202, or 503 when SQS did not take it). A 2xx is
//! only ever returned after SQS accepted every event of the request.

use std::time::Instant;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::config::{Config, ConfigError, Provider};
use crate::envelope::{CloudEvent, Outbound};
use crate::problem::{FieldError, Rejection};
use crate::publisher::{sqs_client, Publisher};
use crate::quarantine::QuarantineRecord;
use crate::request::{is_json_media_type, media_type, Incoming};
use crate::timestamp::format_utc;
use crate::{amlyze, artemis};

/// Everything a function needs, built once at init.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub publisher: Publisher,
}

impl App {
    /// Reads the configuration and builds the SQS client. Fails, naming the
    /// variable, when a setting is missing or malformed.
    pub async fn from_env(provider: Provider) -> Result<Self, ConfigError> {
        let config = Config::from_env(provider)?;
        Ok(Self::new(config, sqs_client().await))
    }

    pub fn new(config: Config, client: aws_sdk_sqs::Client) -> Self {
        Self {
            config,
            publisher: Publisher::new(client),
        }
    }
}

/// Events SQS accepted: their ids and SQS message ids, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub batch: bool,
}

/// What a successful request gets back.
enum Reply {
    Accepted(Accepted),
    Preflight { origin: String, rate: String },
}

/// Handles one HTTP request end to end. Never fails: every outcome is a response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let started = Instant::now();
    let received = OffsetDateTime::now_utc();
    let incoming = Incoming::from_request(request);
    let provider = app.config.provider.name();
    let outcome = process(app, &incoming, received).await;
    match outcome {
        Ok(Reply::Accepted(Accepted {
            ids,
            message_ids,
            batch,
        })) => {
            tracing::info!(provider, status = 202, event_ids = ?ids, message_ids = ?message_ids, elapsed_ms = started.elapsed().as_millis() as u64, "accepted");
            let body = if batch {
                json!({ "ids": ids })
            } else {
                json!({ "id": ids[0], "messageId": message_ids[0] })
            };
            json_response(202, &body)
        }
        Ok(Reply::Preflight { origin, rate }) => {
            tracing::info!(provider, status = 200, "CloudEvents webhook preflight");
            Response::builder()
                .status(200)
                .header("WebHook-Allowed-Origin", origin)
                .header("WebHook-Allowed-Rate", rate)
                .header(ALLOW, Provider::Amlyze.allow())
                .body(Body::Empty)
                .unwrap_or_default()
        }
        Err(rejection) => {
            if rejection.keeps_request() {
                keep(app, &incoming, &rejection, received).await;
            }
            tracing::warn!(
                provider,
                status = rejection.status(),
                reason = rejection.reason(),
                problems = rejection.errors().len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "not accepted"
            );
            rejection.into_response()
        }
    }
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
    match app.publisher.publish(&config.queue, &messages).await {
        Ok(message_ids) => {
            let ids = messages.into_iter().map(|m| m.event.id).collect();
            Ok(Accepted {
                ids,
                message_ids,
                batch,
            })
        }
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
