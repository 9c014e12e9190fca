//! The floor for the cold-start and latency benchmarks: a lambda_http function
//! that answers at once and does nothing else.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::from("{}")))
    }))
    .await
}
