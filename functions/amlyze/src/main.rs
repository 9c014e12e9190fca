//! The amlyze webhook function: reads its configuration, builds the SQS client
//! once, then serves every request through [`shared::handle`].

use lambda_http::{run, service_fn, tracing, Error, Request};
use shared::{App, Provider};

// One thread: Lambda hands an environment one request at a time (and a
// fraction of a vCPU), so worker threads only add start-up time and hops
// between threads (measured in BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let app = App::from_env(Provider::Amlyze)
        .await
        .inspect_err(|err| tracing::error!("configuration error: {err}"))?;
    let app = &app;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(shared::handle(app, request).await)
    }))
    .await
}
