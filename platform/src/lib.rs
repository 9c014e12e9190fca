//! What every crate that runs on AWS shares, producer and consumer alike: the
//! SDK clients' set-up ([`aws`]), SQS's message limits ([`sqs`]), RFC 3339
//! timestamps ([`timestamp`]) and, with the feature `archive`, the reader of
//! the archive's bucket ([`archive`]).
//!
//! It depends on no crate of this workspace but `intake-queue` (the queue's
//! types), so the reference consumer can use it without the intake.

#![warn(missing_docs)]

#[cfg(feature = "archive")]
pub mod archive;
pub mod aws;
pub mod sqs;
pub mod timestamp;
