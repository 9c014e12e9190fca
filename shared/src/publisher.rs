//! SQS: the client is built once at init; every call is bounded in time so the
//! function always answers well inside API Gateway's 29 s.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::SharedHttpClient;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName,
};
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
/// The most init may spend opening the connection to SQS (`SQS_PREWARM`).
pub const PREWARM_BUDGET: Duration = Duration::from_secs(2);

/// Whether an environment variable is set to something.
fn env_is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// An SDK error, with its whole chain of causes.
fn sqs_error(error: impl std::error::Error + Send + Sync + 'static) -> PublishError {
    PublishError::Sqs(DisplayErrorContext(error).to_string())
}

/// Runs `call`, failing with a timeout once `budget` has passed.
async fn within<T>(
    budget: Duration,
    call: impl std::future::Future<Output = Result<T, PublishError>>,
) -> Result<T, PublishError> {
    tokio::time::timeout(budget, call)
        .await
        .unwrap_or(Err(PublishError::Timeout(budget)))
}

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
    let mut loader = sdk_defaults();
    // Lambda puts the function's credentials in the environment; reading them
    // from there skips building the rest of the default chain (an STS client
    // for web identity, profile files): about a quarter of init's instructions.
    if env_is_set("AWS_ACCESS_KEY_ID") && env_is_set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    Client::new(&loader.load().await)
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
        .http_client(https_client())
}

/// The root CAs of Amazon Trust Services, which every AWS endpoint's
/// certificate chains to (SQS, and VPC endpoints for it).
pub const AMAZON_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// The SDK's own HTTPS client (hyper, rustls, aws-lc), trusting
/// [`AMAZON_ROOTS`] only, unless `SSL_CERT_FILE` or `SSL_CERT_DIR` names the
/// roots to trust (a local HTTPS endpoint with its own CA, or a proxy).
///
/// Why not the system's store, as the SDK does by default: reading and parsing
/// its ~140 certificates was 84 % of the instructions of a cold start's init
/// (callgrind, BENCHMARKS.md), paid before the first request on every cold
/// start, for a client that only ever talks to SQS.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = if env_is_set("SSL_CERT_FILE") || env_is_set("SSL_CERT_DIR") {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Not reachable with these settings; the SDK's default client is the fallback.
        Err(_) => builder.build_https(),
    }
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

    /// Opens the connection to SQS (credentials, DNS, TCP, TLS with its root
    /// certificates, signing) during init, where Lambda gives the function a
    /// full CPU, instead of in the first request. It is one `GetQueueAttributes`
    /// call whose answer is ignored: a refusal (say, without the
    /// `sqs:GetQueueAttributes` permission) leaves a warm connection just the same.
    pub async fn prewarm(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send();
        within(PREWARM_BUDGET, async { call.await.map(drop).map_err(sqs_error) }).await
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
        within(PUBLISH_BUDGET, sends).await
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
        let output = request.send().await.map_err(sqs_error)?;
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
        let send = async { request.send().await.map_err(sqs_error) };
        let output = within(QUARANTINE_BUDGET, send).await?;
        Ok(output.message_id.unwrap_or_default())
    }
}
