//! The Lambda entry point of both functions. `lambda_http::run` would turn an
//! event it cannot read (or a panic while converting it, such as lambda_http's
//! on an HTTP API `rawQueryString` that is not percent-encoded) into a
//! runtime error: API Gateway answers 502 and the request is gone. Here the
//! raw event is read under `catch_unwind`; when it cannot be made a request,
//! the whole event is kept (quarantine, or the logs) and the answer is a 500.

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};

use futures_util::FutureExt;
use lambda_http::request::LambdaRequest;
use lambda_http::{service_fn, Adapter, Error, LambdaEvent, Request, Service};
use serde_json::value::RawValue;
use serde_json::Value;
use time::OffsetDateTime;

use crate::archive::Archive;
use crate::handler::{handle, App};
use crate::log::panic_text;
use crate::metrics::RequestMetrics;
use crate::problem::Rejection;
use crate::publisher::Queues;
use crate::quarantine::{quarantine_or_log, RawSender};
use crate::request::Incoming;
use crate::vendor::Provider;

/// Reads the configuration, builds the SQS client once, then serves every
/// invocation through [`invoke`].
pub async fn run(provider: Provider) -> Result<(), Error> {
    let app = App::from_env(provider)
        .await
        .inspect_err(|err| tracing::error!("configuration error: {err}"))?;
    let app = &app;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        Ok::<_, Infallible>(invoke(app, event).await)
    }))
    .await
}

/// Why an unreadable event is not kept: its source is not in the allowlist
/// (or unknown), or its token is not accepted (or absent), as read from the
/// raw event ([`RawSender`]). `None`: every configured check passed.
async fn unestablished_sender<Q: Queues, A: Archive>(app: &App<Q, A>, event: &[u8]) -> Option<&'static str> {
    let sender = RawSender::of(event);
    if let Some(allowlist) = &app.config.allowlist {
        if !allowlist.permits(sender.source) {
            return Some("source not in ALLOWED_SOURCE_CIDRS, or not found in the event");
        }
    }
    if let Some(token) = &app.token {
        if !token.accepts(sender.token.as_deref().map(str::as_bytes)).await {
            return Some("token missing or wrong");
        }
    }
    None
}

/// One invocation: the front door's event becomes a request for
/// [`handle`], and its response the front door's response document.
pub async fn invoke<Q: Queues, A: Archive>(app: &App<Q, A>, event: LambdaEvent<Box<RawValue>>) -> Value {
    let started = std::time::Instant::now();
    let received = OffsetDateTime::now_utc();
    let LambdaEvent { payload, context } = event;
    let failure = match catch_unwind(|| serde_json::from_str::<LambdaRequest>(payload.get())) {
        Ok(Ok(request)) => {
            let mut adapter = Adapter::from(service_fn(|request: Request| async move {
                Ok::<_, Infallible>(handle(app, request).await)
            }));
            let call = catch_unwind(AssertUnwindSafe(|| {
                adapter.call(LambdaEvent::new(request, context.clone()))
            }));
            match call {
                Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(Ok(response)) => return serde_json::to_value(response).unwrap_or(Value::Null),
                    Ok(Err(never)) => match never {},
                    Err(panic) => format!("panic while answering: {}", panic_text(&*panic)),
                },
                Err(panic) => format!("the event could not be made a request: {}", panic_text(&*panic)),
            }
        }
        Ok(Err(err)) => format!("not an event of a known front door: {err}"),
        Err(panic) => format!("panic while reading the event: {}", panic_text(&*panic)),
    };
    let rejection = Rejection::UnreadableEvent(failure);
    // Kept only when what can be read of the sender passes the same checks
    // as a readable request's (a function URL has no gateway in front), and
    // kept for years (quarantine, archive): credentials redacted first.
    let quarantined = match unestablished_sender(app, payload.get().as_bytes()).await {
        Some(why) => {
            tracing::warn!(
                reason = why,
                "an unreadable event whose sender could not be established: not kept"
            );
            false
        }
        None => {
            let event = crate::quarantine::redacted_event(payload.get().as_bytes());
            let incoming = Incoming::raw_event(&event, &context);
            quarantine_or_log(app, &incoming, &rejection, received).await
        }
    };
    tracing::warn!(
        outcome = "rejected",
        status = 500,
        reason = rejection.reason(),
        request_id = %context.request_id,
        quarantined,
        "an event no front-door format could read"
    );
    RequestMetrics {
        provider: app.config.provider.name(),
        rejected: Some(rejection.reason()),
        quarantined,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        ..RequestMetrics::default()
    }
    .emit();
    let response = rejection.into_response();
    let body = String::from_utf8_lossy(response.body()).into_owned();
    // The front door is unknown: this shape serves API Gateway (both payload
    // versions), function URLs and ALB alike.
    serde_json::json!({
        "statusCode": 500,
        "headers": {"content-type": "application/problem+json"},
        "body": body,
        "isBase64Encoded": false,
    })
}
