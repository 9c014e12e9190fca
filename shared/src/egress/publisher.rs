//! Sending to SQS: [`Queues`] is the seam (SQS itself through the SDK, or the
//! in-memory queues of [`crate::egress::memory`]); [`Publisher`] splits a request's
//! messages into batches, sends again what failed, and bounds every request in
//! time so the function always answers well inside API Gateway's 29 s. The
//! client is built once at init ([`platform::aws`]).

use lambda_http::http::Uri;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;

use crate::egress::budgets::{MAX_ATTEMPTS, PREWARM_BUDGET, PUBLISH_BUDGET};
use platform::sqs::{Message, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES};

/// An SQS queue URL; a URL ending in `.fifo` is a FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    /// The URL as given.
    pub url: String,
    /// Whether it names a FIFO queue (ends in `.fifo`).
    pub fifo: bool,
}

impl QueueUrl {
    /// The URL in `text`, or why it is not a queue URL (for the setting's error).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let malformed = |reason: &str| format!("{reason} (got {text:?})");
        let uri: Uri = text.parse().map_err(|_| malformed("not a URL"))?;
        if !matches!(uri.scheme_str(), Some("https" | "http")) {
            return Err(malformed(
                "expected an https:// (or http:// for a local server) queue URL",
            ));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(malformed("the URL has no host"));
        }
        let path = uri.path().trim_end_matches('/');
        if path.is_empty() {
            return Err(malformed("the URL names no queue (expected …/ACCOUNT_ID/QUEUE_NAME)"));
        }
        Ok(Self {
            url: text.to_owned(),
            fifo: path.ends_with(".fifo"),
        })
    }
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

/// Why a message did not reach SQS.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No answer within the budget.
    #[error("SQS did not answer within {0:?}")]
    Timeout(Duration),
    /// SQS (or the SDK) refused; the text is the SDK's error, for logs and records only.
    #[error("SQS refused the message: {0}")]
    Sqs(String),
    /// Larger than an SQS message may be (never sent).
    #[error("the message is {0} bytes, more than SQS takes ({MAX_MESSAGE_BYTES})")]
    TooLarge(usize),
}

/// Why SQS did not take one entry of a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EntryFailure {
    /// SQS's error code for the entry.
    pub code: String,
    /// SQS's message for the entry.
    pub message: String,
    /// SQS's word that the entry itself is at fault (retrying it cannot help).
    pub sender_fault: bool,
}

/// Per entry of a batch: its SQS message id, or why it was not taken.
pub(crate) type EntryResults = Vec<Result<String, EntryFailure>>;

/// The one thing the pipeline needs from SQS: a `SendMessageBatch`. [`Sqs`]
/// is the real one; [`crate::egress::memory::MemoryQueues`] keeps messages in memory
/// and applies SQS's limits, for fast whole-pipeline tests.
pub trait Queues: Send + Sync + 'static {
    /// Sends 1–10 entries in one call. `Err` when the call as a whole failed
    /// (after the SDK's own retries); otherwise one result per entry, in order.
    fn send_batch(
        &self,
        queue: &QueueUrl,
        entries: &[&Message],
    ) -> impl std::future::Future<Output = Result<EntryResults, PublishError>> + Send;

    /// Opens the connection during init (`SQS_PREWARM`); nothing by default.
    fn prewarm(&self, _queue: &QueueUrl) -> impl std::future::Future<Output = Result<(), PublishError>> + Send {
        async { Ok(()) }
    }
}

/// Amazon SQS through the AWS SDK.
#[derive(Debug, Clone)]
pub struct Sqs {
    client: Client,
}

impl Sqs {
    /// The queues through `client`, built once at init.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn string_value(value: &str) -> Result<MessageAttributeValue, PublishError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(sqs_error)
}

/// A message's attributes and system attributes, as the SDK takes them.
type SdkAttributes = (
    HashMap<String, MessageAttributeValue>,
    Option<HashMap<MessageSystemAttributeNameForSends, MessageSystemAttributeValue>>,
);

fn sdk_attributes(message: &Message) -> Result<SdkAttributes, PublishError> {
    let mut attributes = HashMap::new();
    for (name, value) in &message.attributes {
        attributes.insert(name.clone(), string_value(value)?);
    }
    let system = match &message.trace_header {
        Some(trace) => {
            let trace = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(trace)
                .build()
                .map_err(sqs_error)?;
            Some(HashMap::from([(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace,
            )]))
        }
        None => None,
    };
    Ok((attributes, system))
}

impl Queues for Sqs {
    /// One entry goes as a `SendMessage` (the same message; SQS and moto take
    /// it for less work than a batch of one), several as a `SendMessageBatch`.
    async fn send_batch(&self, queue: &QueueUrl, entries: &[&Message]) -> Result<EntryResults, PublishError> {
        if let [message] = entries {
            let (attributes, system) = sdk_attributes(message)?;
            let output = self
                .client
                .send_message()
                .queue_url(&queue.url)
                .message_body(&message.body)
                .set_message_attributes(Some(attributes))
                .set_message_system_attributes(system)
                .set_message_group_id(message.group_id.clone())
                .set_message_deduplication_id(message.deduplication_id.clone())
                .send()
                .await
                .map_err(sqs_error)?;
            return Ok(vec![Ok(output.message_id.unwrap_or_default())]);
        }
        let mut request = self.client.send_message_batch().queue_url(&queue.url);
        for (index, message) in entries.iter().enumerate() {
            let (attributes, system) = sdk_attributes(message)?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(&message.body)
                .set_message_attributes(Some(attributes))
                .set_message_system_attributes(system)
                .set_message_group_id(message.group_id.clone())
                .set_message_deduplication_id(message.deduplication_id.clone());
            request = request.entries(entry.build().map_err(sqs_error)?);
        }
        let output = request.send().await.map_err(sqs_error)?;
        let unanswered = EntryFailure {
            code: "NoResult".to_owned(),
            message: "SQS reported neither success nor failure for this entry".to_owned(),
            sender_fault: false,
        };
        let mut results: EntryResults = vec![Err(unanswered); entries.len()];
        for ok in output.successful {
            if let Some(slot) = ok.id.parse::<usize>().ok().and_then(|i| results.get_mut(i)) {
                *slot = Ok(ok.message_id);
            }
        }
        for failed in output.failed {
            if let Some(slot) = failed.id.parse::<usize>().ok().and_then(|i| results.get_mut(i)) {
                *slot = Err(EntryFailure {
                    code: failed.code,
                    message: failed.message.unwrap_or_default(),
                    sender_fault: failed.sender_fault,
                });
            }
        }
        Ok(results)
    }

    /// Opens the connection to SQS (credentials, DNS, TCP, TLS with its root
    /// certificates, signing) during init, where Lambda gives the function a
    /// full CPU, instead of in the first request. It is one `GetQueueAttributes`
    /// call whose answer is ignored: a refusal (say, without the
    /// `sqs:GetQueueAttributes` permission) leaves a warm connection just the same.
    async fn prewarm(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send();
        within(PREWARM_BUDGET, async { call.await.map(drop).map_err(sqs_error) }).await
    }
}

/// Sends messages in batches, within the time budgets.
#[derive(Debug, Clone)]
pub struct Publisher<Q> {
    queues: Q,
}

impl<Q: Queues> Publisher<Q> {
    /// A publisher on `queues` (SQS in the functions, in-memory queues in tests).
    pub fn new(queues: Q) -> Self {
        Self { queues }
    }

    /// The seam itself (tests read in-memory queues back through it).
    pub fn queues(&self) -> &Q {
        &self.queues
    }

    /// Opens the connection to SQS during init (`SQS_PREWARM`), with one `GetQueueAttributes`.
    pub async fn prewarm(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        self.queues.prewarm(queue).await
    }

    /// Sends every message; returns their SQS message ids, in order. Each
    /// message must fit SQS's limits (the caller checks).
    pub async fn publish(&self, queue: &QueueUrl, messages: &[Message]) -> Result<Vec<String>, PublishError> {
        within(PUBLISH_BUDGET, self.send_all(queue, messages)).await
    }

    /// Sends one message within `budget` (the quarantine's); returns its SQS
    /// message id. Fails when it is too large for SQS (the caller then logs it).
    pub(crate) async fn send_one(
        &self,
        queue: &QueueUrl,
        message: &Message,
        budget: Duration,
    ) -> Result<String, PublishError> {
        if message.size() > MAX_MESSAGE_BYTES {
            return Err(PublishError::TooLarge(message.size()));
        }
        let ids = within(budget, self.send_all(queue, std::slice::from_ref(message))).await?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// `SendMessageBatch` calls of at most 10 entries and 1 MiB; entries that
    /// failed for a reason of SQS's own are sent again, up to [`MAX_ATTEMPTS`](crate::egress::budgets::MAX_ATTEMPTS)
    /// rounds. Stops at a call that failed whole (the SDK already retried it)
    /// or an entry SQS refused as faulty.
    async fn send_all(&self, queue: &QueueUrl, messages: &[Message]) -> Result<Vec<String>, PublishError> {
        let mut ids: Vec<Option<String>> = vec![None; messages.len()];
        let mut last_failure = None;
        for round in 0..MAX_ATTEMPTS {
            let pending: Vec<usize> = (0..messages.len()).filter(|i| ids[*i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                tokio::time::sleep(RETRY_PAUSE * round).await;
            }
            for chunk in batches(&pending, messages) {
                let entries: Vec<&Message> = chunk.iter().map(|i| &messages[*i]).collect();
                let results = self.queues.send_batch(queue, &entries).await?;
                for (index, result) in chunk.iter().zip(results) {
                    match result {
                        Ok(id) => ids[*index] = Some(id),
                        Err(failure) if failure.sender_fault => {
                            return Err(PublishError::Sqs(format!("SQS refused an entry: {failure}")))
                        }
                        Err(failure) => last_failure = Some(failure),
                    }
                }
            }
        }
        match ids.into_iter().collect::<Option<Vec<String>>>() {
            Some(ids) => Ok(ids),
            None => Err(PublishError::Sqs(format!(
                "entries still failing after {MAX_ATTEMPTS} rounds: {}",
                last_failure.map_or_else(String::new, |f| f.to_string())
            ))),
        }
    }
}

/// Pause before resending failed entries, times the round number.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Splits `pending` (indexes into `messages`) into groups SQS takes in one
/// `SendMessageBatch`: at most 10 entries and 1 MiB, in order.
fn batches(pending: &[usize], messages: &[Message]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut size = 0;
    for &index in pending {
        let entry_size = messages[index].size();
        match groups.last_mut() {
            Some(group) if group.len() < MAX_BATCH_ENTRIES && size + entry_size <= MAX_BATCH_BYTES => {
                group.push(index);
                size += entry_size;
            }
            _ => {
                groups.push(vec![index]);
                size = entry_size;
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(size: usize) -> Message {
        Message {
            body: "x".repeat(size),
            ..Message::default()
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries_and_one_mib() {
        let small: Vec<Message> = (0..25).map(|_| message(10)).collect();
        let pending: Vec<usize> = (0..25).collect();
        let sizes: Vec<usize> = batches(&pending, &small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let big: Vec<Message> = (0..5).map(|_| message(400 * 1024)).collect();
        let groups = batches(&[0, 1, 2, 3, 4], &big);
        assert_eq!(groups, [vec![0, 1], vec![2, 3], vec![4]]);
        for group in &groups {
            let entries: Vec<Message> = group.iter().map(|i| big[*i].clone()).collect();
            assert!(platform::sqs::batch_violations(&entries, false).is_empty());
        }
    }
}
