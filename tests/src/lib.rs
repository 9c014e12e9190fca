//! Test harness: a real moto SQS server on loopback, queue helpers, Lambda
//! events for each front door, and a Lambda Runtime API emulator that runs the
//! built function binaries.

pub mod archive;
pub mod consumer;
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
pub fn config(
    provider: intake::Provider,
    vars: &[(&str, &str)],
) -> Result<intake::config::Config, intake::config::ConfigError> {
    let all: std::collections::HashMap<&str, &str> = [("ALLOW_UNAUTHENTICATED", "true")]
        .into_iter()
        .chain(vars.iter().copied())
        .collect();
    intake::config::Config::from_lookup(provider, |k| all.get(k).map(|v| v.to_string()))
}

/// The whole body of a request a harness server received (empty if the
/// client went away mid-body).
pub async fn read_body(body: hyper::body::Incoming) -> bytes::Bytes {
    use http_body_util::BodyExt;
    body.collect().await.map(|b| b.to_bytes()).unwrap_or_default()
}
