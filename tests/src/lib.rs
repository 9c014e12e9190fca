//! Test harness: a real moto SQS server on loopback, queue helpers, Lambda
//! events for each front door, and a Lambda Runtime API emulator that runs the
//! built function binaries.

pub mod archive;
pub mod consumer;
pub mod drill;
pub mod emulator;
pub mod events;
pub mod faults;
pub mod front_door;
pub mod function;
pub mod invariant;
pub mod manifest;
pub mod moto;
pub mod schemas;
pub mod secrets;
pub mod sqs;
pub mod stack;

pub use events::{Call, FrontDoor};
pub use moto::Moto;

/// A test's configuration for `provider`: `vars` (the last value of a name
/// wins), open on purpose (`ALLOW_UNAUTHENTICATED=true`) unless `vars` say
/// otherwise, since most tests are not about the sender's credentials.
pub fn config(provider: intake::Provider, vars: &[(&str, &str)]) -> Result<intake::Config, intake::ConfigError> {
    let all: std::collections::HashMap<&str, &str> = [("ALLOW_UNAUTHENTICATED", "true")]
        .into_iter()
        .chain(vars.iter().copied())
        .collect();
    intake::Config::from_lookup(provider, |k| all.get(k).map(|v| v.to_string()))
}

/// The whole body of a request a harness server received (empty if the
/// client went away mid-body).
pub async fn read_body(body: hyper::body::Incoming) -> bytes::Bytes {
    use http_body_util::BodyExt;
    body.collect().await.map(|b| b.to_bytes()).unwrap_or_default()
}

/// A front door's event (JSON) through the functions' own entry point,
/// [`intake::invoke`], as the Lambda runtime hands it over; the response
/// document read back as an HTTP response.
pub async fn invoke<Q: intake::Queues, A: intake::Archive>(
    app: &intake::App<Q, A>,
    event: &str,
) -> lambda_http::Response<lambda_http::Body> {
    use lambda_http::lambda_runtime::{Context, LambdaEvent};
    let raw = serde_json::value::RawValue::from_string(event.to_owned()).expect("an event is JSON");
    let document = intake::invoke(app, LambdaEvent::new(raw, Context::default())).await;
    response_of(&document)
}

/// A response document (any front door's shape) as an HTTP response: its
/// status, every header value (`multiValueHeaders` where a door has them),
/// and its body, decoded when it is base64.
pub fn response_of(document: &serde_json::Value) -> lambda_http::Response<lambda_http::Body> {
    use base64::Engine;
    let status = document["statusCode"].as_u64().expect("a status code") as u16;
    let mut builder = lambda_http::Response::builder().status(status);
    let multi = document["multiValueHeaders"].as_object().filter(|m| !m.is_empty());
    match multi {
        Some(multi) => {
            for (name, values) in multi {
                for value in values.as_array().into_iter().flatten() {
                    builder = builder.header(name, value.as_str().unwrap_or_default());
                }
            }
        }
        None => {
            for (name, value) in document["headers"].as_object().into_iter().flatten() {
                builder = builder.header(name, value.as_str().unwrap_or_default());
            }
        }
    }
    let text = document["body"].as_str().unwrap_or_default();
    let body = if document["isBase64Encoded"].as_bool() == Some(true) {
        lambda_http::Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("a base64 body"),
        )
    } else if text.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Text(text.to_owned())
    };
    builder.body(body).expect("a response")
}
