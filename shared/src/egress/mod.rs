pub mod archive;
pub mod breaker;
pub mod budgets;
pub mod clients;
pub mod envelope;
pub mod log;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod metrics;
pub mod problem;
pub mod publisher;
pub mod quarantine;
