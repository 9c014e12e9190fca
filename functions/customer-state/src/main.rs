//! The customer-state function: reads its configuration and builds its
//! clients once, then handles every batch from the events queue with
//! [`customer_state::handle`].

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, tracing, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let consumer = customer_state::Consumer::from_env().await?;
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(customer_state::handle(consumer, event.payload).await)
    }))
    .await
}
