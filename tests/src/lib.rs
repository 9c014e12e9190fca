//! Test harness: a real moto SQS server on loopback, queue helpers, Lambda
//! events for each front door, and a Lambda Runtime API emulator that runs the
//! built function binaries.

pub mod archive;
pub mod consumer;
pub mod emulator;
pub mod events;
pub mod faults;
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

/// The whole body of a request a harness server received (empty if the
/// client went away mid-body).
pub async fn read_body(body: hyper::body::Incoming) -> bytes::Bytes {
    use http_body_util::BodyExt;
    body.collect().await.map(|b| b.to_bytes()).unwrap_or_default()
}
