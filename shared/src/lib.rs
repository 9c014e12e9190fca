//! The webhook intake: what every function binary runs. A vendor's callback
//! comes in through any front door, is checked and normalized to a
//! CloudEvent, and goes to SQS; anything refused is kept in quarantine.
//!
//! Reading order:
//! - [`app`]: the composition root, [`App`], built once at init;
//!   [`runtime`]: the Lambda entry point (the raw event in, the front door's
//!   response out); [`handler`]: the whole request → response pipeline.
//! - [`vendor`]: what makes a vendor ([`Vendor`], [`Parsed`]); [`providers`]:
//!   the list of vendors ([`Provider`]); the vendor modules [`artemis`] and
//!   [`amlyze`]; [`cloudevents`], the CloudEvents
//!   HTTP binding any CloudEvents sender builds on.
//! - Reading vendor input: [`strict_json`] (every duplicated key is an
//!   error), [`fields`] (field validation that collects every problem),
//!   [`open_enum`] (enums vendors may add to),
//!   [`timestamp`] (RFC 3339).
//! - What came in and who may send: [`request`], [`access`], [`config`].
//! - What goes out: the types of the `intake-queue` crate (`queue/`), which
//!   consumers read the queues with and the JSON Schemas are generated from;
//!   [`envelope`] (the CloudEvents message on the queue and its SQS form),
//!   [`quarantine`] (the record of a refused request, queued or logged),
//!   [`problem`] (errors and the one place they become HTTP responses),
//!   [`metrics`] (CloudWatch EMF), [`log`] (values as logged, kept short).
//! - The archive: [`archive`] (every kept message, also in a Firehose stream
//!   that delivers to S3 with Object Lock; its records, limits and seam).
//! - SQS: [`publisher`] (batches, retries, time budgets; the [`publisher::Queues`]
//!   seam), [`aws`] (the SDK clients), [`sqs_message`] (an SQS message
//!   and the platform's limits every outgoing one is made to), [`memory`] (in-memory queues that
//!   apply them, for tests; feature `testing`).
//!
//! The operator and developer tools (recover, redrive, local stack, load,
//! bench) are in the `intake-tools` crate (`tools/`).

// Every public item says what it is for (issue 21: a narrow, documented public face).
#![warn(missing_docs)]

pub mod access;
pub mod amlyze;
pub mod app;
pub mod archive;
pub mod artemis;
pub mod budgets;
mod clients;
pub mod cloudevents;
pub mod config;
pub mod envelope;
pub mod fields;
pub mod handler;
pub mod log;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod metrics;
pub mod problem;
pub mod providers;
pub mod publisher;
pub mod quarantine;
pub mod redact;
pub mod request;
pub mod runtime;
pub mod strict_json;
pub mod token;
pub mod vendor;

pub use app::App;
pub use config::{Config, ConfigError};
pub use handler::handle;
/// Open enums (vendors add values), from the `intake-queue` crate.
pub use intake_queue::open_enum;
pub use providers::Provider;
pub use vendor::{Parsed, Vendor};
