//! Tools around the webhook intake, apart from the library the functions run.
//!
//! Operator tools: [`recover`] (requests the functions logged because no queue
//! took them, and archive records the archive refused), [`redrive`] (the
//! quarantine queue, or the archive's quarantine records, through the current
//! pipeline) [`history`] (one customer's timeline from the archive) and [`verify`] (a
//! deployed stack's probe, `make verify`), each
//! with its binary, on [`apps`] (one pipeline per vendor). Developer tools: [`load`] (reconciled load
//! runs), [`sqs_stub`] (a minimal SQS endpoint, over TLS with [`tls`]), and the
//! binaries `local-stack` (its HTTP front door in [`front_door`], its consumer
//! in [`local_consumer`], its metrics summary in [`emf_summary`]), `bench` and `bare-lambda-http` (the benchmark's floor). Deployment without SAM:
//! [`cargo_lambda`] (`make deploy-cargo-lambda`, `make cargo-lambda-policy`).

pub mod apps;
pub mod bench;
pub mod cargo_lambda;
pub mod emf_summary;
pub mod front_door;
pub mod history;
pub mod load;
pub mod local_consumer;
pub mod recover;
pub mod redrive;
pub mod sizes;
pub mod sqs_stub;
pub mod tls;
pub mod verify;
