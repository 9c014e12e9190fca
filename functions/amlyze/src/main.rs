//! The amlyze webhook function: reads its configuration, builds the SQS client
//! once, then serves every invocation through [`intake::run`].

use intake::Provider;
use lambda_http::{tracing, Error};

// One thread: Lambda hands an environment one request at a time (and a
// fraction of a vCPU), so worker threads only add start-up time and hops
// between threads (measured in BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    intake::run(Provider::Amlyze).await
}
