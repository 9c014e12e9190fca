//! Operator tools for a deployed intake, each with its binary: [`recover`]
//! (requests the functions logged because no queue took them, and archive
//! records the archive refused), [`redrive`] (the quarantine queue, or the
//! archive's quarantine records, through the current pipeline) and
//! [`history`] (one customer's timeline from the archive), on [`apps`] (one
//! pipeline per vendor).
//!
//! They run from an operator's machine against AWS, so they depend on the
//! intake and the platform crate only, never on the test harness.

pub mod apps;
pub mod history;
pub mod recover;
pub mod redrive;
