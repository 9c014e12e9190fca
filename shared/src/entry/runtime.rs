//! The Lambda entry point of both functions. `lambda_http::run` would turn an
//! event it cannot read (or a panic while converting it, such as lambda_http's
//! on an HTTP API `rawQueryString` that is not percent-encoded) into a
//! runtime error: API Gateway answers 502 and the request is gone. Here the
//! raw event is read under `catch_unwind`; when it cannot be made a request,
//! the whole event is kept (quarantine, or the logs) and the answer is a 500.

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::FutureExt;
use lambda_http::http::{HeaderValue, Response};
use lambda_http::request::{LambdaRequest, RequestOrigin};
use lambda_http::{service_fn, Body, Error, LambdaEvent, Request, RequestExt};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::egress::archive::Archive;
use crate::egress::log::panic_text;
use crate::egress::problem::Rejection;
use crate::egress::publisher::Queues;
use crate::entry::app::App;
use crate::entry::handler::{answer, respond, Delivery, Sender};
use crate::ingress::redact::RawSender;
use crate::ingress::request::Incoming;
use crate::vendors::providers::Provider;

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

/// One invocation: the front door's event becomes a request for the
/// pipeline (`handler::answer`), and its response the front door's response document.
pub async fn invoke<Q: Queues, A: Archive>(app: &App<Q, A>, event: LambdaEvent<Box<RawValue>>) -> Value {
    let started = std::time::Instant::now();
    let received = OffsetDateTime::now_utc();
    let LambdaEvent { payload, context } = event;
    // lambda_http's reading and conversion of the event can panic (an HTTP
    // API `rawQueryString` that is not percent-encoded): caught here, where
    // the event is still whole, as is a panic in answering (the pipeline's
    // own are caught by [`answer`], which keeps the request it read).
    let read = catch_unwind(AssertUnwindSafe(|| {
        let request = serde_json::from_str::<LambdaRequest>(payload.get())
            .map_err(|err| format!("not an event of a known front door: {err}"))?;
        let door = request.request_origin();
        let request = Request::from(request).with_lambda_context(context.clone());
        Ok::<_, String>((door, Incoming::from_request(request)))
    }));
    let failure = match read {
        Ok(Ok((door, incoming))) => {
            let delivery = Delivery {
                incoming: &incoming,
                started,
                received,
            };
            // Boxed: the pipeline's future (the SDK calls' within it) is
            // large, and a caller that polls many on its own stack (a test
            // thread's 2 MiB) would overflow.
            match Box::pin(AssertUnwindSafe(answer(app, &delivery)).catch_unwind()).await {
                Ok(response) => return document(Some(&door), response),
                Err(panic) => format!("panic while answering: {}", panic_text(&*panic)),
            }
        }
        Ok(Err(failure)) => failure,
        Err(panic) => format!("the event could not be made a request: {}", panic_text(&*panic)),
    };
    // Kept only when what can be read of the sender passes the same checks
    // as a readable request's (a function URL has no gateway in front), and
    // kept for years (quarantine, archive): credentials redacted first.
    let sender = match unestablished_sender(app, payload.get().as_bytes()).await {
        Some(why) => Sender::Unestablished(why),
        None => Sender::Checked,
    };
    let event = crate::ingress::redact::redacted_event(payload.get().as_bytes());
    let incoming = Incoming::raw_event(&event, &context);
    let delivery = Delivery {
        incoming: &incoming,
        started,
        received,
    };
    let response = respond(app, &delivery, Err(Rejection::UnreadableEvent(failure)), sender).await;
    // The front door is unknown: the plain shape serves them all.
    document(None, response)
}

/// The response document `door` expects, in the shapes lambda_http's own
/// conversion writes (a test holds them equal); with no known door, a plain
/// shape that API Gateway (both payload versions), function URLs and ALB all
/// read. Every invocation's answer leaves through here. Written here rather than
/// through lambda_http's `IntoResponse`, whose charset conversion of text
/// bodies alone adds encoding_rs to the bootstrap (BENCHMARKS.md, "Deployment size").
pub(crate) fn document(door: Option<&RequestOrigin>, response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let status = parts.status.as_u16();
    let (body, is_base64) = match body {
        Body::Text(text) => (Value::String(text), false),
        Body::Binary(bytes) => (Value::String(STANDARD.encode(bytes)), true),
        _ => (Value::String(String::new()), false),
    };
    let value = |value: &HeaderValue| Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
    let single: Map<String, Value> = parts
        .headers
        .keys()
        .map(|name| {
            let values: Vec<String> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect();
            (name.as_str().to_owned(), Value::String(values.join(", ")))
        })
        .collect();
    let multi: Map<String, Value> = parts
        .headers
        .keys()
        .map(|name| {
            (
                name.as_str().to_owned(),
                parts.headers.get_all(name).iter().map(value).collect(),
            )
        })
        .collect();
    let mut document = json!({"statusCode": status, "body": body, "isBase64Encoded": is_base64});
    let Some(door) = door else {
        document["headers"] = Value::Object(single);
        return document;
    };
    match door {
        // API Gateway v1 merges `headers` into `multiValueHeaders`: one only.
        RequestOrigin::ApiGatewayV1 => {
            document["headers"] = json!({});
            document["multiValueHeaders"] = Value::Object(multi);
        }
        RequestOrigin::Alb => {
            let reason = parts.status.canonical_reason().unwrap_or_default();
            document["statusDescription"] = json!(format!("{status} {reason}"));
            document["headers"] = Value::Object(single);
            document["multiValueHeaders"] = Value::Object(multi);
        }
        // HTTP API and function URLs (payload 2.0); any other door gets the
        // same plain shape.
        _ => {
            document["headers"] = Value::Object(single);
            document["multiValueHeaders"] = json!({});
            document["cookies"] = json!([]);
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use lambda_http::http::StatusCode;
    use lambda_http::lambda_runtime::Context;
    use lambda_http::{Adapter, Service};

    use super::*;

    /// What lambda_http's own conversion (`IntoResponse`, then its response
    /// types) writes for `response` behind the door of `event`.
    async fn lambda_http_document(event: &str, response: Response<Body>) -> Value {
        let request: LambdaRequest = serde_json::from_str(event).unwrap();
        let response = std::sync::Mutex::new(Some(response));
        let mut adapter = Adapter::from(service_fn(|_: Request| {
            let response = response.lock().unwrap().take().unwrap();
            async move { Ok::<_, Infallible>(response) }
        }));
        let answer = adapter
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
        serde_json::to_value(answer).unwrap()
    }

    fn responses() -> Vec<Response<Body>> {
        let text = |status: StatusCode, headers: &[(&str, &str)], body: &str| {
            let mut builder = Response::builder().status(status);
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder.body(Body::Text(body.to_owned())).unwrap()
        };
        vec![
            text(
                StatusCode::ACCEPTED,
                &[("content-type", "application/json")],
                r#"{"accepted":1}"#,
            ),
            text(
                StatusCode::METHOD_NOT_ALLOWED,
                &[("content-type", "application/problem+json"), ("allow", "POST, OPTIONS")],
                r#"{"status":405}"#,
            ),
            text(StatusCode::SERVICE_UNAVAILABLE, &[("retry-after", "1")], "{}"),
            Response::builder()
                .status(StatusCode::OK)
                .header("webhook-allowed-origin", "*")
                .body(Body::Empty)
                .unwrap(),
            // Binary without a content type lambda_http would make (lossy) text;
            // none of ours is binary, and this one is written as base64.
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/octet-stream")
                .body(Body::Binary(vec![0, 159, 255]))
                .unwrap(),
        ]
    }

    #[tokio::test]
    async fn every_front_door_gets_the_document_lambda_http_would_write() {
        let doors = [
            ("REST v1", include_str!("../../../events/artemis-insert.rest-v1.json")),
            (
                "HTTP API v2",
                include_str!("../../../events/artemis-update.http-v2.json"),
            ),
            (
                "function URL",
                include_str!("../../../events/artemis-update-put.function-url.json"),
            ),
            ("ALB", include_str!("../../../events/artemis-insert.alb.json")),
        ];
        for (name, event) in doors {
            let door = serde_json::from_str::<LambdaRequest>(event).unwrap().request_origin();
            for (theirs, ours) in responses().into_iter().zip(responses()) {
                let expected = lambda_http_document(event, theirs).await;
                assert_eq!(document(Some(&door), ours), expected, "{name}");
            }
        }
    }

    /// A header given twice: payload 2.0 has no `multiValueHeaders`, so the
    /// values are joined (lambda_http 1.3 keeps only the first).
    #[test]
    fn a_repeated_header_keeps_every_value_behind_every_door() {
        let repeated = || {
            Response::builder()
                .header("allow", "POST")
                .header("allow", "OPTIONS")
                .body(Body::Empty)
                .unwrap()
        };
        let v2 = document(Some(&RequestOrigin::ApiGatewayV2), repeated());
        assert_eq!(v2["headers"]["allow"], "POST, OPTIONS", "{v2}");
        let v1 = document(Some(&RequestOrigin::ApiGatewayV1), repeated());
        assert_eq!(v1["multiValueHeaders"]["allow"], json!(["POST", "OPTIONS"]), "{v1}");
        let alb = document(Some(&RequestOrigin::Alb), repeated());
        assert_eq!(alb["multiValueHeaders"]["allow"], json!(["POST", "OPTIONS"]), "{alb}");
    }
}
