//! A moto-backed events queue and quarantine queue, and apps that use them:
//! the setting most handler tests need.

use aws_sdk_sqs::Client;
use intake::{App, Provider};
use lambda_http::http::HeaderMap;
use serde_json::Value;

use crate::archive::LocalArchive;
use crate::sqs::{self, drain, Received};
use crate::{Call, FrontDoor, Moto};

pub struct Stack {
    /// The harness's reader.
    pub client: Client,
    /// What the apps use: the functions' own SDK settings.
    pub app_client: Client,
    pub queue: String,
    pub quarantine: String,
    /// An archive stream and bucket; an app uses it when given
    /// `("ARCHIVE_STREAM", &stack.archive.stream)`.
    pub archive: LocalArchive,
    app_firehose: aws_sdk_firehose::Client,
}

impl Stack {
    /// Fresh queues on the shared moto server.
    pub async fn new(fifo: bool) -> Stack {
        let client = sqs::client(&Moto::shared().endpoint).await;
        let queue = sqs::create_queue(&client, "events", fifo).await;
        let quarantine = sqs::create_queue(&client, "quarantine", false).await;
        Stack {
            client,
            app_client: sqs::function_client(&Moto::shared().endpoint).await,
            queue,
            quarantine,
            archive: LocalArchive::create(&Moto::shared().raw_endpoint).await,
            app_firehose: crate::archive::firehose_client(&Moto::shared().endpoint).await,
        }
    }

    /// An app for `provider` using these queues, plus `vars` (which may override them).
    pub fn app(&self, provider: Provider, vars: &[(&str, &str)]) -> App {
        let queues = [
            ("QUEUE_URL", self.queue.as_str()),
            ("QUARANTINE_QUEUE_URL", self.quarantine.as_str()),
        ];
        let all: Vec<(&str, &str)> = queues.into_iter().chain(vars.iter().copied()).collect();
        let config = crate::config(provider, &all).expect("valid test config");
        App::new(config, self.app_client.clone(), self.app_firehose.clone())
    }

    /// Every message now on the events queue (deleted as read).
    pub async fn queued(&self) -> Vec<Received> {
        drain(&self.client, &self.queue).await
    }

    /// Every quarantine record now kept (deleted as read).
    pub async fn quarantined(&self) -> Vec<Value> {
        drain(&self.client, &self.quarantine)
            .await
            .iter()
            .map(Received::json)
            .collect()
    }
}

/// A handler's response, decoded.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Runs `call`, as delivered through `door`, through the handler.
pub async fn send(app: &App, call: &Call, door: FrontDoor) -> Answer {
    let response = crate::invoke(app, &call.event(door).to_string()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    Answer { status, headers, body }
}
