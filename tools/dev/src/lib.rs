//! Developer tools on the local platform (the test harness: moto, the Runtime
//! API emulator, front-door events): the binaries `local-stack` (`make demo`,
//! `make local`; its consumer in [`local_consumer`], its metrics summary in
//! [`emf_summary`]), `load` ([`load`]: reconciled load runs), `bench` and
//! `capacity` ([`bench`], [`sizes`]), `sqs-stub` ([`sqs_stub`], a minimal SQS
//! endpoint, over TLS with [`tls`]) and `bare-lambda-http` (the benchmark's
//! floor).

pub mod bench;
pub mod emf_summary;
pub mod load;
pub mod local_consumer;
pub mod sizes;
pub mod sqs_stub;
pub mod tls;
