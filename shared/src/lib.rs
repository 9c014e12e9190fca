//! The model crate shared by the `artemis` and `amlyze` webhook functions.
//!
//! Reading order: [`runtime`] is the Lambda entry point (the raw event in, the
//! front door's response out); [`handler`] is the whole request → response
//! pipeline; it uses
//! [`request`] (what came in), [`access`] (allowlist and shared secret),
//! [`artemis`] / [`amlyze`] (vendor models, validation, normalization),
//! [`envelope`] (the CloudEvents message that lands on the queue),
//! [`quarantine`] (what lands in quarantine), [`publisher`] (SQS) and
//! [`problem`] (errors and the one place they become HTTP responses).
//! [`limits`] holds the platform's limits every outgoing message is made to;
//! [`memory`] is an in-memory stand-in for SQS that applies them (tests).
//! [`recover`] and [`redrive`] are the operator tools' logic.

pub mod access;
pub mod amlyze;
pub mod artemis;
pub mod config;
pub mod enums;
pub mod envelope;
pub mod handler;
pub mod json;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod problem;
pub mod publisher;
pub mod quarantine;
pub mod request;
pub mod runtime;
pub mod timestamp;

pub use config::{Config, ConfigError, Provider};
pub use handler::{handle, App};
