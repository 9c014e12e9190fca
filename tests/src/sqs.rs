//! Queue helpers for tests: clients pointed at moto, queue creation, draining.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;

/// A client exactly as the functions build theirs (timeouts, retries),
/// pointed at `endpoint`: for the apps under test.
pub async fn function_client(endpoint: &str) -> Client {
    local_client(platform::aws::sdk_defaults(), endpoint).await
}

/// A client for the harness itself (creating, reading, checking queues): the
/// project's SDK settings with patient timeouts, since receives from a large
/// moto queue slow down as it grows.
pub async fn client(endpoint: &str) -> Client {
    let patient = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(60))
        .operation_timeout(std::time::Duration::from_secs(180))
        .build();
    local_client(platform::aws::sdk_defaults().timeout_config(patient), endpoint).await
}

async fn local_client(settings: aws_config::ConfigLoader, endpoint: &str) -> Client {
    Client::new(&local_config(settings, endpoint).await)
}

/// `settings` pointed at `endpoint`, with test credentials.
pub async fn local_config(settings: aws_config::ConfigLoader, endpoint: &str) -> aws_config::SdkConfig {
    settings
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// A fresh queue with a unique name; returns its URL.
pub async fn create_queue(client: &Client, prefix: &str, fifo: bool) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}-{}-{n}{}", std::process::id(), if fifo { ".fifo" } else { "" });
    let mut request = client.create_queue().queue_name(name);
    if fifo {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .expect("create_queue")
        .queue_url
        .expect("queue url")
}

/// One message as read back from SQS.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    pub attributes: HashMap<String, String>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    /// The X-Ray trace header the sender attached (`AWSTraceHeader`).
    pub trace_header: Option<String>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("queue message body is JSON")
    }
}

/// Receives and deletes every message now on the queue.
pub async fn drain(client: &Client, queue_url: &str) -> Vec<Received> {
    read(client, queue_url, true).await
}

/// Receives every message now on the queue once, without deleting (each
/// stays invisible for 15 minutes); faster than [`drain`] for large counts.
pub async fn receive_all(client: &Client, queue_url: &str) -> Vec<Received> {
    read(client, queue_url, false).await
}

/// Reads until the queue has no visible message left, deleting what it read
/// when `delete` is set. Fails the test if any send to this queue broke a rule
/// of real SQS (the strict proxy in front of moto refused it).
async fn read(client: &Client, queue_url: &str, delete: bool) -> Vec<Received> {
    let violations = crate::faults::violations_for(queue_url);
    assert!(
        violations.is_empty(),
        "sends to {queue_url} broke SQS's rules: {violations:?}"
    );
    let mut all = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .message_attribute_names("All")
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(900)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive_message");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            if settled(client, queue_url).await {
                return all;
            }
            continue;
        }
        for message in messages {
            if let (true, Some(handle)) = (delete, &message.receipt_handle) {
                client
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete_message");
            }
            let system = message.attributes.unwrap_or_default();
            all.push(Received {
                message_id: message.message_id.unwrap_or_default(),
                body: message.body.unwrap_or_default(),
                attributes: message
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                    .collect(),
                group_id: system.get(&MessageSystemAttributeName::MessageGroupId).cloned(),
                deduplication_id: system.get(&MessageSystemAttributeName::MessageDeduplicationId).cloned(),
                trace_header: system.get(&MessageSystemAttributeName::AwsTraceHeader).cloned(),
            });
        }
    }
}

/// Whether the queue has no visible message left. Under load moto sometimes
/// answers a receive with nothing while messages remain, so an empty receive
/// alone does not end a read (a reader that trusted it once reported 20 of
/// 9,000 events "lost" that were all on the queue).
async fn settled(client: &Client, queue_url: &str) -> bool {
    for _ in 0..50 {
        let attributes = client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("get_queue_attributes");
        let visible = attributes
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).cloned())
            .unwrap_or_default();
        if visible == "0" {
            return true;
        }
        if visible.parse::<u64>().is_ok_and(|n| n > 0) {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    true
}
