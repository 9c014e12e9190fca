//! The request → response pipeline shared by both functions.
//!
//! Order of checks: source allowlist (403), shared secret (401), CloudEvents
//! preflight (vendors that use it, 200), method (405), size (413), content type (415),
//! validation (400), enqueue (202, or 503 when SQS did not take it). A 2xx is
//! only ever returned after SQS accepted every event of the request. A panic
//! anywhere in that pipeline is caught: 500, and the request is kept as for a
//! 503.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::FutureExt;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::access::{PerMinute, KEPT_UNAUTHORIZED_PER_MINUTE};
use crate::archive::{self, archive_or_log, Archive, Archiver, Firehose, Kind};
use crate::config::{Config, ConfigError};
use crate::envelope::{CloudEvent, Outbound};
use crate::log::{brief, brief_list, panic_text};
use crate::memory::MemoryArchive;
use crate::metrics::{RecentKeys, RequestMetrics};
use crate::problem::{Reader, Rejection};
use crate::publisher::{Publisher, Queues, Sqs, PUBLISH_BUDGET};
use crate::quarantine::quarantine_or_log;
use crate::request::{is_json_media_type, media_type, Incoming};
use crate::sqs_message::{Message, MAX_MESSAGE_BYTES};
use crate::token::TokenCheck;
use crate::vendor::{Parsed, Provider};

/// Everything a function needs, built once at init. `Q` is SQS and `A`
/// Firehose in the functions, in-memory stand-ins in some tests.
#[derive(Debug)]
pub struct App<Q = Sqs, A = Firehose> {
    pub config: Config,
    pub publisher: Publisher<Q>,
    /// The archive, when `ARCHIVE_STREAM` is set.
    pub archiver: Option<Archiver<A>>,
    /// The webhook token, when `SHARED_SECRET` or `SHARED_SECRET_ARN` is set.
    pub token: Option<TokenCheck>,
    /// Dedupe keys seen recently by this instance, for the `Repeats` metric.
    recent: Mutex<RecentKeys>,
    /// The wrong-token requests kept this minute ([`KEPT_UNAUTHORIZED_PER_MINUTE`]);
    /// `None` without an allowlist that is a boundary, where none are kept.
    kept_unauthorized: Option<Mutex<PerMinute>>,
}

impl App<Sqs> {
    /// Reads the configuration, builds the SQS client and, with
    /// `SHARED_SECRET_ARN`, reads the token from Secrets Manager. Fails,
    /// naming the variable, when a setting is missing or malformed or the
    /// secret cannot be read.
    pub async fn from_env(provider: Provider) -> Result<Self, ConfigError> {
        let started = Instant::now();
        let config = Config::from_env(provider)?;
        let config_done = started.elapsed();
        let sdk = crate::aws::sdk_config()?;
        let client = crate::aws::sqs(&sdk);
        let firehose = crate::aws::firehose(&sdk);
        let client_done = started.elapsed();
        let token = match &config.secret_arn {
            Some(secret_id) => {
                let secrets = crate::aws::secrets_manager(&sdk);
                Some(TokenCheck::from_secrets_manager(secrets, secret_id, config.previous_grace).await?)
            }
            None => None,
        };
        let secret_done = started.elapsed();
        let mut app = Self::new(config, client, firehose);
        if token.is_some() {
            app.token = token;
        }
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
            secret_us = app
                .config
                .secret_arn
                .is_some()
                .then(|| (secret_done - client_done).as_micros() as u64),
            prewarm_us = app
                .config
                .prewarm
                .then(|| (started.elapsed() - secret_done).as_micros() as u64),
            "initialized"
        );
        Ok(app)
    }

    /// The app with its SDK clients (the Firehose one is used only with
    /// `ARCHIVE_STREAM`).
    pub fn new(config: Config, sqs: aws_sdk_sqs::Client, firehose: aws_sdk_firehose::Client) -> Self {
        App::with_sinks(config, Sqs::new(sqs), Firehose::new(firehose))
    }
}

impl<Q: Queues> App<Q, MemoryArchive> {
    /// The app on `queues`, with an in-memory archive (used when the
    /// configuration names an `ARCHIVE_STREAM`): for tests.
    pub fn with_queues(config: Config, queues: Q) -> Self {
        App::with_sinks(config, queues, MemoryArchive::new())
    }
}

impl<Q: Queues, A: Archive> App<Q, A> {
    pub fn with_sinks(config: Config, queues: Q, archive: A) -> Self {
        let archiver = config
            .archive_stream
            .clone()
            .map(|stream| Archiver::new(archive, stream));
        let token = config.secret.clone().map(TokenCheck::fixed);
        let boundary = config.allowlist.as_ref().is_some_and(|list| !list.is_wide());
        Self {
            config,
            publisher: Publisher::new(queues),
            archiver,
            token,
            recent: Mutex::new(RecentKeys::new(10_000)),
            kept_unauthorized: boundary.then(|| Mutex::new(PerMinute::new(KEPT_UNAUTHORIZED_PER_MINUTE))),
        }
    }

    /// Whether this refused request is kept: what [`Rejection::keeps_request`]
    /// says, a wrong token only behind an allowlist that is a boundary (not
    /// wider than the open-door limit) and only while this minute's budget
    /// lasts. `Err(())`: a wrong token that would have been kept but for the
    /// budget.
    fn keeps(&self, rejection: &Rejection) -> Result<bool, ()> {
        let Some(cap) = &self.kept_unauthorized else {
            return Ok(rejection.keeps_request(false));
        };
        if !matches!(rejection, Rejection::Unauthorized) {
            return Ok(rejection.keeps_request(true));
        }
        if cap.lock().is_ok_and(|mut cap| cap.take(Instant::now())) {
            Ok(true)
        } else {
            Err(())
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
pub async fn handle<Q: Queues, A: Archive>(app: &App<Q, A>, request: Request) -> Response<Body> {
    let started = Instant::now();
    let received = OffsetDateTime::now_utc();
    let incoming = Incoming::from_request(request);
    let provider = app.config.provider.name();
    let mut metrics = RequestMetrics {
        provider,
        ..RequestMetrics::default()
    };
    let outcome = AssertUnwindSafe(process(app, &incoming, received))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(Rejection::Internal(format!("panic: {}", panic_text(&*panic)))));
    let response = match outcome {
        Ok(Reply::Accepted(accepted)) => {
            metrics.accepted = accepted.ids.len();
            metrics.repeats = app.repeats(&accepted.dedupe_keys);
            metrics.unknown_enum_fields = accepted.unknown_enum_fields.clone();
            tracing::info!(
                outcome = "accepted",
                status = 202,
                provider,
                request_id = %brief(&incoming.request_id),
                event_ids = ?brief_list(&accepted.ids),
                dedupe_keys = ?brief_list(&accepted.dedupe_keys),
                message_ids = ?brief_list(&accepted.message_ids),
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
                .header(ALLOW, app.config.provider.allow())
                .body(Body::Empty)
                .unwrap_or_default()
        }
        Err(rejection) => {
            metrics.rejected = Some(rejection.reason());
            metrics.enqueue_failed = matches!(rejection, Rejection::Unavailable(_));
            match app.keeps(&rejection) {
                Ok(true) => metrics.quarantined = quarantine_or_log(app, &incoming, &rejection, received).await,
                Ok(false) => {}
                Err(()) => metrics.unauthorized_not_kept = true,
            }
            tracing::warn!(
                outcome = "rejected",
                status = rejection.status(),
                provider,
                request_id = %brief(&incoming.request_id),
                reason = rejection.reason(),
                problems = rejection.problem_count(),
                detail = %brief(&rejection.listed_errors(Reader::Operator).0.first().map(|e| e.message.clone()).unwrap_or_default()),
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

async fn process<Q: Queues, A: Archive>(
    app: &App<Q, A>,
    incoming: &Incoming,
    received: OffsetDateTime,
) -> Result<Reply, Rejection> {
    let config = &app.config;
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
    replay(app, incoming, received).await.map(Reply::Accepted)
}

/// The steps after the caller's checks (allowlist, secret, method): size,
/// content type, validation, enqueueing. What a request that passed those
/// checks goes through, and what `recover` and `redrive` run a kept request
/// through again.
pub async fn replay<Q: Queues, A: Archive>(
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
    // The archive runs beside the SQS send, within the same budget; what it
    // refuses is logged for `recover`, and the answer does not change.
    let (published, _) = tokio::join!(
        app.publisher.publish(&app.config.queue, &messages),
        archive_or_log(app.archiver.as_ref(), provider, records, PUBLISH_BUDGET),
    );
    match published {
        Ok(message_ids) => Ok(Accepted {
            dedupe_keys: parsed.events.iter().map(|e| e.dedupekey.clone()).collect(),
            ids: parsed.events.into_iter().map(|e| e.id).collect(),
            message_ids,
            unknown_enum_fields: parsed.unknown_enum_fields,
            batch: parsed.batch,
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

/// Size, content type, validation and normalization: everything [`replay`]
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
