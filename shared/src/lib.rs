//! The webhook intake: what every function binary runs. A vendor's callback
//! comes in through any front door, is checked and normalized to a
//! CloudEvent, and goes to SQS; anything refused is kept in quarantine.
//!
//! Reading order, one folder each; a folder's modules use only their own
//! folder's and those of the folders after it:
//! - `entry/`: the Lambda entry point and the one exit of every answer
//!   (`runtime`), the request → response pipeline (`handler`), its steps
//!   after the door (`enqueue`), the one way a kept request goes through
//!   them again (`rerun`), the composition root built once at init (`app`),
//!   the settings (`config`).
//! - `vendors/`: what makes a vendor (`vendor`), the list of them
//!   (`providers`), the vendor modules (`artemis`, `amlyze`), the CloudEvents
//!   HTTP binding any CloudEvents sender builds on (`cloudevents`), and the
//!   readers of vendor input (`strict_json`, `fields`).
//! - `egress/`: what goes out. The message on the queue (`envelope`), SQS
//!   sends within their budgets behind the `Queues` seam (`publisher`,
//!   `budgets`, `clients`), the record of a refused request (`quarantine`),
//!   the archive (`archive`), errors and the one place they become HTTP
//!   responses (`problem`), metrics and logs (`metrics`, `log`), and in-memory
//!   queues that apply SQS's limits, for tests (`memory`, feature `testing`).
//! - `ingress/`: what came in and who may send it (`request`, `access`,
//!   `token`, `redact`).
//!
//! What the queues carry is the `intake-queue` crate's; the SDK set-up and
//! SQS's limits are the `platform` crate's.
//!
//! The public face is what the functions, the operator tools and the tests
//! need: the functions' entry points ([`run`], [`invoke`]) and what builds
//! them ([`App`], [`Config`], [`Provider`], the seams [`Queues`] and
//! [`Archive`]); [`pipeline`], what the operator tools need to run a kept
//! request through again ([`App::rerun`]); [`kept`], the records of what was
//! kept (quarantine, archive, the logs); and, with the feature `testing`,
//! [`testing`].

#![warn(missing_docs)]

mod egress;
mod entry;
mod ingress;
mod vendors;

pub use egress::archive::{Archive, Firehose};
pub use egress::metrics::metrics_to_stderr;
pub use egress::publisher::QueueUrl;
pub use egress::publisher::{Queues, Sqs};
pub use entry::app::App;
pub use entry::config::{Config, ConfigError};
pub use entry::runtime::{invoke, run};
/// Open enums (vendors add values), from the `intake-queue` crate.
pub use intake_queue::open_enum;
pub use vendors::providers::Provider;

/// What running a kept request through the pipeline again takes and gives
/// ([`App::rerun`], [`App::check_rerun`]): what `recover` and `redrive` use.
pub mod pipeline {
    pub use crate::egress::budgets::PUBLISH_BUDGET;
    pub use crate::egress::problem::Rejection;
    pub use crate::entry::enqueue::Accepted;
    pub use crate::entry::handler::Settled;
    pub use crate::entry::rerun::KeptIn;
    pub use crate::ingress::request::Incoming;
}

/// What the intake keeps, in the forms the tools read back: quarantine
/// records, requests logged in parts, the archive's records.
pub mod kept {
    pub use crate::egress::archive::{batch_violations, join_parts, ArchivedMessage, Archiver, MAX_RECORD_BYTES};
    pub use crate::egress::log::{brief, log_parts, split_text, LOG_PART_BYTES};
    pub use crate::egress::quarantine::{to_json, QuarantineRecord};
    pub use crate::ingress::redact::REDACTED;
}

/// Test doubles and the internals tests check against (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    pub use crate::egress::breaker::COOL_OFF;
    pub use crate::egress::budgets::MAX_ATTEMPTS;
    pub use crate::egress::envelope::{fifo_deduplication_id, CloudEvent, Outbound};
    pub use crate::egress::memory::{MemoryArchive, MemoryQueues, Script};
    pub use crate::entry::config::DEFAULT_PREVIOUS_GRACE;
    pub use crate::ingress::access::KEPT_UNAUTHORIZED_PER_MINUTE;
    pub use crate::ingress::token::TokenCheck;
    pub use crate::vendors::cloudevents::STRUCTURED;
    pub use crate::vendors::vendor::Parsed;
    /// Artemis's parser alone (the property tests, the fuzz targets, the bench).
    pub mod artemis {
        pub use crate::vendors::artemis::parse;
    }
    /// Amlyze's parser alone.
    pub mod amlyze {
        pub use crate::vendors::amlyze::parse;
    }
}
