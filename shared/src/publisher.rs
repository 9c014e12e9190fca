//! SQS: the client is built once at init; every call is bounded in time so the
//! function always answers well inside API Gateway's 29 s.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue};
use aws_sdk_sqs::Client;

use crate::config::QueueUrl;
use crate::envelope::{hex, Outbound};
use crate::quarantine::QuarantineRecord;

/// Time budgets. Worst case for one request: the main queue's budget, then the
/// quarantine's (a failed enqueue is quarantined), under 10 s in all.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const MAX_ATTEMPTS: u32 = 3;
/// All the sends of one request to the main queue (a batch sends several).
pub const PUBLISH_BUDGET: Duration = Duration::from_millis(5_500);
pub const QUARANTINE_BUDGET: Duration = Duration::from_millis(3_500);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SQS did not answer within {0:?}")]
    Timeout(Duration),
    #[error("SQS refused the message: {0}")]
    Sqs(String),
}

/// Builds the SQS client from the standard AWS settings (region, credentials,
/// `AWS_ENDPOINT_URL[_SQS]`), with explicit timeouts and bounded retries.
pub async fn sqs_client() -> Client {
    Client::new(&sdk_defaults().load().await)
}

/// The SDK settings every client of this project uses: a pinned behaviour
/// version, explicit timeouts, bounded retries.
pub fn sdk_defaults() -> aws_config::ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(PUBLISH_BUDGET)
        .build();
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

fn string_attribute(value: &str) -> Option<MessageAttributeValue> {
    // SQS refuses empty attribute values; such an attribute is left out.
    if value.is_empty() {
        return None;
    }
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .ok()
}

#[derive(Debug, Clone)]
pub struct Publisher {
    client: Client,
}

impl Publisher {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Sends the events in order; returns their SQS message ids. Stops at the
    /// first failure (the caller answers 5xx: nothing is reported accepted).
    pub async fn publish(
        &self,
        queue: &QueueUrl,
        messages: &[Outbound],
        trace_header: Option<&str>,
    ) -> Result<Vec<String>, PublishError> {
        let sends = async {
            let mut ids = Vec::with_capacity(messages.len());
            for message in messages {
                ids.push(self.send_event(queue, message, trace_header).await?);
            }
            Ok(ids)
        };
        tokio::time::timeout(PUBLISH_BUDGET, sends)
            .await
            .unwrap_or(Err(PublishError::Timeout(PUBLISH_BUDGET)))
    }

    async fn send_event(
        &self,
        queue: &QueueUrl,
        message: &Outbound,
        trace_header: Option<&str>,
    ) -> Result<String, PublishError> {
        let event = &message.event;
        let mut request = self
            .client
            .send_message()
            .queue_url(&queue.url)
            .message_body(&message.body);
        for (name, value) in [
            ("provider", Some(&event.provider)),
            ("type", Some(&event.kind)),
            ("subject", event.subject.as_ref()),
        ] {
            if let Some(attribute) = value.and_then(|v| string_attribute(v)) {
                request = request.message_attributes(name, attribute);
            }
        }
        if queue.fifo {
            request = request
                .message_group_id(&message.group_id)
                .message_deduplication_id(&message.deduplication_id);
        }
        let trace = trace_header.filter(|t| !t.is_empty()).and_then(|t| {
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(t)
                .build()
                .ok()
        });
        if let Some(trace) = trace {
            request = request.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, trace);
        }
        let output = request
            .send()
            .await
            .map_err(|e| PublishError::Sqs(DisplayErrorContext(e).to_string()))?;
        Ok(output.message_id.unwrap_or_default())
    }

    /// Puts a refused request in quarantine.
    pub async fn quarantine(&self, queue: &QueueUrl, record: &QuarantineRecord) -> Result<String, PublishError> {
        let body = record.to_json();
        let mut request = self.client.send_message().queue_url(&queue.url).message_body(&body);
        if let Some(attribute) = string_attribute(&record.provider) {
            request = request.message_attributes("provider", attribute);
        }
        if let Some(attribute) = string_attribute(&record.reason) {
            request = request.message_attributes("reason", attribute);
        }
        if queue.fifo {
            use sha2::Digest;
            let digest = hex(&sha2::Sha256::digest(body.as_bytes()));
            request = request
                .message_group_id(format!("quarantine:{}", record.provider))
                .message_deduplication_id(digest);
        }
        let send = async {
            request
                .send()
                .await
                .map_err(|e| PublishError::Sqs(DisplayErrorContext(e).to_string()))
        };
        match tokio::time::timeout(QUARANTINE_BUDGET, send).await {
            Ok(output) => Ok(output?.message_id.unwrap_or_default()),
            Err(_) => Err(PublishError::Timeout(QUARANTINE_BUDGET)),
        }
    }
}
