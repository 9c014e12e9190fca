//! Sending to SQS: [`Queues`] is the seam (SQS itself through the SDK, or the
//! in-memory queues of [`crate::egress::memory`]); [`Publisher`] splits a request's
//! messages into batches, sends again what failed, and bounds every request in
//! time so the function always answers well inside API Gateway's 29 s. Each
//! kind of message has a [`Route`]: the local queue, and optionally a queue
//! in another region that takes what the local one fails to; a queue that
//! failed its last sends is skipped for a while ([`crate::egress::breaker`]).
//! The clients are built once at init ([`platform::aws`]).

use lambda_http::http::Uri;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;

use crate::egress::breaker::{Admission, Breaker, Outcome, PROBE_BUDGET};
use crate::egress::budgets::{
    FALLBACK_BUDGET, LOCAL_BUDGET_WITH_FALLBACK, MAX_ATTEMPTS, PREWARM_BUDGET, PUBLISH_BUDGET,
};
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

/// A failed call: [`PublishError::Timeout`] when the SDK itself gave up
/// waiting (its operation or attempt timeout, or connecting timed out), so a
/// hanging queue is known as one whichever timer fired first; otherwise
/// [`sqs_error`].
fn call_error<E, R>(error: SdkError<E, R>) -> PublishError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let timed_out = match &error {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_timeout(),
        _ => false,
    };
    if timed_out {
        PublishError::Timeout(platform::aws::OPERATION_TIMEOUT)
    } else {
        sqs_error(error)
    }
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
    /// SQS refused an entry as faulty (retrying it, anywhere, cannot help).
    #[error("SQS refused an entry: {0}")]
    EntryRefused(EntryFailure),
    /// Not tried: the queue failed its last sends and its breaker is open
    /// ([`crate::egress::breaker`]).
    #[error(
        "not tried: the queue failed its last sends (tried again after a {:?} cool-off)",
        crate::egress::breaker::COOL_OFF
    )]
    Skipped,
}

impl PublishError {
    /// Whether the queue failed to answer (down, throttling, too slow, or
    /// skipped for that), rather than refusing this message: what opens a
    /// breaker and what a fallback may help with.
    pub fn is_unavailability(&self) -> bool {
        matches!(
            self,
            PublishError::Timeout(_) | PublishError::Sqs(_) | PublishError::Skipped
        )
    }
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

    /// One cheap call that shows the queue answers (`GetQueueAttributes`):
    /// what opens the connection during init (`SQS_PREWARM`) and what the
    /// health route asks. Always `Ok` by default.
    fn reachable(&self, _queue: &QueueUrl) -> impl std::future::Future<Output = Result<(), PublishError>> + Send {
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
                .map_err(call_error)?;
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
        let output = request.send().await.map_err(call_error)?;
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

    /// One `GetQueueAttributes` call. At init (`SQS_PREWARM`) it opens the
    /// connection to SQS (credentials, DNS, TCP, TLS with its root
    /// certificates, signing) where Lambda gives the function a full CPU,
    /// instead of in the first request; its answer is then ignored: a refusal
    /// (say, without the `sqs:GetQueueAttributes` permission) leaves a warm
    /// connection just the same. The health route needs the answer.
    async fn reachable(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        self.client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map(drop)
            .map_err(call_error)
    }
}

/// What the health route found about a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Its breaker is open: unhealthy, without asking.
    Skipped,
    /// The breaker was due a probe, and this was it.
    Probed(bool),
    /// Asked with the breaker closed.
    Asked(bool),
}

/// Where a kind of message goes: the local queue and, when configured, the
/// queue in another region it spills to when the local one fails.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The queue in this region (`QUEUE_URL`, `QUARANTINE_QUEUE_URL`).
    pub local: &'a QueueUrl,
    /// The queue in the other region (`FALLBACK_QUEUE_URL`, `FALLBACK_QUARANTINE_QUEUE_URL`).
    pub fallback: Option<&'a QueueUrl>,
}

/// Which queue took a request's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taker {
    /// The local queue took every message.
    Local,
    /// The fallback queue took some (or all) of them.
    Fallback,
}

/// Messages a [`Route`] took: their SQS message ids, in order, and how many
/// the fallback took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// One per message, from whichever queue took it.
    pub message_ids: Vec<String>,
    /// Messages the fallback queue took.
    pub spilled: usize,
}

impl Published {
    /// Which queue took the messages.
    pub fn taker(&self) -> Taker {
        if self.spilled == 0 {
            Taker::Local
        } else {
            Taker::Fallback
        }
    }
}

/// Sends messages in batches, within the time budgets, to a [`Route`]: the
/// local queue unless its [`Breaker`] is open, then, for what it did not
/// take, the fallback. Built once at init: the breakers are this
/// environment's memory of how each queue's recent sends went.
#[derive(Debug)]
pub struct Publisher<Q> {
    queues: Q,
    /// The fallback region's client, when it is not `queues` itself.
    fallback_queues: Option<Q>,
    breakers: Mutex<HashMap<String, Arc<Breaker>>>,
}

impl<Q: Queues> Publisher<Q> {
    /// A publisher on `queues` (SQS in the functions, in-memory queues in tests).
    pub fn new(queues: Q) -> Self {
        Self {
            queues,
            fallback_queues: None,
            breakers: Mutex::new(HashMap::new()),
        }
    }

    /// The same, sending to fallback queues through `fallback` (a client
    /// for the other region).
    pub fn with_fallback(queues: Q, fallback: Option<Q>) -> Self {
        Self {
            fallback_queues: fallback,
            ..Self::new(queues)
        }
    }

    /// The seam itself (tests read in-memory queues back through it).
    pub fn queues(&self) -> &Q {
        &self.queues
    }

    /// The fallback region's seam (the local one when none was given).
    pub fn fallback_queues(&self) -> &Q {
        self.fallback_queues.as_ref().unwrap_or(&self.queues)
    }

    /// Opens the connection to SQS during init (`SQS_PREWARM`), with one `GetQueueAttributes`.
    pub async fn prewarm(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        within(PREWARM_BUDGET, self.queues.reachable(queue)).await
    }

    /// Whether the local `queue` works, for the health route: not while its
    /// breaker skips it; otherwise whether it answers a `GetQueueAttributes`
    /// within `budget`. When the breaker is due a probe, that call stands in
    /// for it (a region that no callback reaches any more must still learn
    /// that its queue is back): a failure opens the breaker for another
    /// cool-off; a success does not close it, since reading a queue's
    /// attributes is not sending to it (a disabled KMS key, a denied send),
    /// but leaves the probe due, so the next callback's send decides.
    pub(crate) async fn health(&self, queue: &QueueUrl, budget: Duration) -> Health {
        let breaker = self.breaker(queue);
        match breaker.admit(Instant::now()) {
            Admission::Skip => Health::Skipped,
            Admission::Probe => {
                let outcome = within(budget, self.queues.reachable(queue)).await;
                match &outcome {
                    Ok(()) => breaker.probe_due(Instant::now()),
                    Err(PublishError::Timeout(_)) => breaker.record(Outcome::TimedOut, Instant::now()),
                    Err(_) => breaker.record(Outcome::Failed, Instant::now()),
                }
                Health::Probed(outcome.is_ok())
            }
            Admission::Send => Health::Asked(within(budget, self.queues.reachable(queue)).await.is_ok()),
        }
    }

    /// Whether `queue`'s breaker is open: it failed its last sends and is
    /// being skipped (or probed).
    pub(crate) fn skipping(&self, queue: &QueueUrl) -> bool {
        self.breaker(queue).is_open()
    }

    /// This environment's breaker for `queue`.
    fn breaker(&self, queue: &QueueUrl) -> Arc<Breaker> {
        let mut breakers = self.breakers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(breaker) = breakers.get(&queue.url) {
            return breaker.clone();
        }
        breakers.entry(queue.url.clone()).or_default().clone()
    }

    /// Sends every message to the route: the local queue within
    /// [`PUBLISH_BUDGET`] (with a fallback, [`LOCAL_BUDGET_WITH_FALLBACK`]),
    /// then what it did not take to the fallback within [`FALLBACK_BUDGET`].
    /// Each message must fit SQS's limits (the caller checks).
    pub async fn publish(&self, route: Route<'_>, messages: &[Message]) -> Result<Published, PublishError> {
        let local = match route.fallback {
            Some(_) => LOCAL_BUDGET_WITH_FALLBACK,
            None => PUBLISH_BUDGET,
        };
        self.send_routed(route, messages, local, FALLBACK_BUDGET).await
    }

    /// Sends one message to the route within `budget` in all (the
    /// quarantine's): with a fallback, at most [`LOCAL_BUDGET_WITH_FALLBACK`]
    /// of it for the local queue. Fails when it is too large for SQS (the
    /// caller then logs it).
    pub(crate) async fn send_one(
        &self,
        route: Route<'_>,
        message: &Message,
        budget: Duration,
    ) -> Result<Published, PublishError> {
        if message.size() > MAX_MESSAGE_BYTES {
            return Err(PublishError::TooLarge(message.size()));
        }
        let local = match route.fallback {
            Some(_) => budget.min(LOCAL_BUDGET_WITH_FALLBACK),
            None => budget,
        };
        self.send_routed(route, std::slice::from_ref(message), local, budget - local)
            .await
    }

    async fn send_routed(
        &self,
        route: Route<'_>,
        messages: &[Message],
        local_budget: Duration,
        fallback_budget: Duration,
    ) -> Result<Published, PublishError> {
        let mut ids: Vec<Option<String>> = vec![None; messages.len()];
        let local = self
            .send_guarded(&self.queues, route.local, messages, &mut ids, local_budget)
            .await;
        let failure = match local {
            Ok(()) => return Ok(collect(ids, 0)),
            Err(failure) => failure,
        };
        let Some(fallback) = route.fallback.filter(|_| failure.is_unavailability()) else {
            return Err(failure);
        };
        let pending: Vec<usize> = (0..messages.len()).filter(|i| ids[*i].is_none()).collect();
        let rest: Vec<Message> = pending.iter().map(|i| messages[*i].clone()).collect();
        let mut rest_ids: Vec<Option<String>> = vec![None; rest.len()];
        let spilled = self
            .send_guarded(self.fallback_queues(), fallback, &rest, &mut rest_ids, fallback_budget)
            .await;
        match spilled {
            Ok(()) => {
                for (index, id) in pending.iter().zip(rest_ids) {
                    ids[*index] = id;
                }
                Ok(collect(ids, rest.len()))
            }
            Err(second) => Err(PublishError::Sqs(format!(
                "the local queue: {failure}; the fallback queue: {second}"
            ))),
        }
    }

    /// Sends `messages` to `queue` within `budget` unless its breaker is
    /// open (then at once [`PublishError::Skipped`]); a probe gets
    /// [`PROBE_BUDGET`] at most. `ids` keeps what the queue took, even when
    /// the time ran out.
    async fn send_guarded(
        &self,
        queues: &Q,
        queue: &QueueUrl,
        messages: &[Message],
        ids: &mut [Option<String>],
        budget: Duration,
    ) -> Result<(), PublishError> {
        if budget.is_zero() {
            // No time left for this request: not a word about the queue.
            return Err(PublishError::Timeout(budget));
        }
        let breaker = self.breaker(queue);
        let budget = match breaker.admit(Instant::now()) {
            Admission::Send => budget,
            Admission::Probe => budget.min(PROBE_BUDGET),
            Admission::Skip => return Err(PublishError::Skipped),
        };
        let outcome = within(budget, send_all(queues, queue, messages, ids)).await;
        let seen = match &outcome {
            Err(PublishError::Timeout(_)) => Outcome::TimedOut,
            Err(failure) if failure.is_unavailability() => Outcome::Failed,
            _ => Outcome::Answered,
        };
        breaker.record(seen, Instant::now());
        outcome
    }
}

/// The ids of a route's messages once every one was taken.
fn collect(ids: Vec<Option<String>>, spilled: usize) -> Published {
    Published {
        message_ids: ids.into_iter().map(Option::unwrap_or_default).collect(),
        spilled,
    }
}

/// `SendMessageBatch` calls of at most 10 entries and 1 MiB for the messages
/// `ids` does not hold yet; entries that failed for a reason of SQS's own are
/// sent again, up to [`MAX_ATTEMPTS`](crate::egress::budgets::MAX_ATTEMPTS)
/// rounds. Stops at a call that failed whole (the SDK already retried it) or
/// an entry SQS refused as faulty.
async fn send_all<Q: Queues>(
    queues: &Q,
    queue: &QueueUrl,
    messages: &[Message],
    ids: &mut [Option<String>],
) -> Result<(), PublishError> {
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
            let results = queues.send_batch(queue, &entries).await?;
            for (index, result) in chunk.iter().zip(results) {
                match result {
                    Ok(id) => ids[*index] = Some(id),
                    Err(failure) if failure.sender_fault => return Err(PublishError::EntryRefused(failure)),
                    Err(failure) => last_failure = Some(failure),
                }
            }
        }
    }
    if ids.iter().all(Option::is_some) {
        Ok(())
    } else {
        Err(PublishError::Sqs(format!(
            "entries still failing after {MAX_ATTEMPTS} rounds: {}",
            last_failure.map_or_else(String::new, |f| f.to_string())
        )))
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

    use crate::egress::breaker::{COOL_OFF, TRIP_AFTER};
    use crate::egress::memory::MemoryQueues;

    const LOCAL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo";
    const OTHER: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/events.fifo";

    fn url(text: &str) -> QueueUrl {
        QueueUrl::parse(text).unwrap()
    }

    fn events(n: usize) -> Vec<Message> {
        (0..n)
            .map(|i| Message {
                body: format!("{{\"id\":\"event-{i}\"}}"),
                attributes: vec![("provider".to_owned(), "artemis".to_owned())],
                group_id: Some(format!("customer-{i}")),
                deduplication_id: Some(format!("dedupe-{i}")),
                trace_header: None,
            })
            .collect()
    }

    /// The local queue, spilling to the other.
    fn spilling<'a>(local: &'a QueueUrl, other: &'a QueueUrl) -> Route<'a> {
        Route {
            local,
            fallback: Some(other),
        }
    }

    #[tokio::test]
    async fn what_the_local_queue_fails_goes_to_the_fallback_unchanged() {
        let publisher = Publisher::new(MemoryQueues::new());
        let (local, other) = (url(LOCAL), url(OTHER));
        let route = spilling(&local, &other);
        publisher.queues().set_down(LOCAL, true);
        let sent = events(12);
        let published = publisher.publish(route, &sent).await.unwrap();
        assert_eq!(published.spilled, 12);
        assert_eq!(published.taker(), Taker::Fallback);
        assert_eq!(published.message_ids.len(), 12);
        assert!(published.message_ids.iter().all(|id| !id.is_empty()));
        // The same messages: body, attributes, FIFO group and dedupe id.
        assert_eq!(publisher.queues().messages(OTHER), sent);
        assert!(publisher.queues().messages(LOCAL).is_empty());
    }

    #[tokio::test]
    async fn without_a_fallback_a_failing_queue_is_an_error_and_nothing_is_sent() {
        let publisher = Publisher::new(MemoryQueues::new());
        let local = url(LOCAL);
        publisher.queues().set_down(LOCAL, true);
        let alone = Route {
            local: &local,
            fallback: None,
        };
        let failed = publisher.publish(alone, &events(3)).await.unwrap_err();
        assert!(failed.is_unavailability(), "{failed}");
        assert!(publisher.queues().messages(LOCAL).is_empty());
        assert!(publisher.queues().messages(OTHER).is_empty());
    }

    #[tokio::test]
    async fn a_queue_that_failed_in_a_row_is_skipped_until_a_probe_finds_it_back() {
        let publisher = Publisher::new(MemoryQueues::new());
        let (local, other) = (url(LOCAL), url(OTHER));
        let route = spilling(&local, &other);
        publisher.queues().set_down(LOCAL, true);
        for _ in 0..TRIP_AFTER {
            publisher.publish(route, &events(1)).await.unwrap();
        }
        let calls = publisher.queues().calls();
        assert!(publisher.skipping(&local));
        // Open: the local queue is not called at all, only the fallback.
        for _ in 0..5 {
            let published = publisher.publish(route, &events(1)).await.unwrap();
            assert_eq!(published.taker(), Taker::Fallback);
        }
        assert_eq!(publisher.queues().calls(), calls + 5, "one call each, to the fallback");
        // The queue is back; after the cool-off one request probes it, and
        // the next ones stay local.
        publisher.queues().set_down(LOCAL, false);
        tokio::time::sleep(COOL_OFF).await;
        let probe = publisher.publish(route, &events(1)).await.unwrap();
        assert_eq!(probe.taker(), Taker::Local);
        assert!(!publisher.skipping(&local));
        assert_eq!(publisher.queues().messages(LOCAL).len(), 1);
    }
}
