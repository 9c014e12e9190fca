//! In-memory queues that behave as SQS does where it matters for "nothing is
//! lost": every `SendMessageBatch` is checked against the platform's rules
//! ([`platform::sqs`]) and refused, as SQS would, when it breaks one (the
//! breach is also recorded, for tests to assert there were none); FIFO queues
//! drop a repeated deduplication id. Lets the whole pipeline run in tests and
//! fuzzing without a server; scripted failures exercise the retry paths.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use crate::egress::archive::{self, Archive, ArchiveError, RecordResults};
use crate::egress::publisher::QueueUrl;
use crate::egress::publisher::{EntryFailure, EntryResults, PublishError, Queues};
use platform::sqs::{batch_violations, Message};

/// What the next `SendMessageBatch` call does instead of succeeding.
#[derive(Debug, Clone)]
pub enum Script {
    /// Entry `n` of the call fails for a reason of SQS's own (retryable).
    FailEntry(usize),
    /// The whole call fails (as after the SDK's retries).
    FailCall,
    /// The call panics: a stand-in for a bug anywhere in the pipeline.
    Panic,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, Vec<Message>>,
    /// FIFO deduplication as the template's high-throughput queues do it
    /// (`DeduplicationScope: messageGroup`): queue, group, deduplication id.
    deduplication_ids: HashSet<(String, String, String)>,
    violations: Vec<String>,
    script: VecDeque<Script>,
    calls: usize,
    next_id: u64,
    /// Queues that fail every call, as a queue that is down or throttling.
    down: HashSet<String>,
}

/// SQS in memory, with SQS's limits applied to every send (a breach is
/// refused and recorded); FIFO deduplication; scripted failures ([`Script`]).
#[derive(Default)]
pub struct MemoryQueues {
    state: Mutex<State>,
    check: Option<Check>,
}

/// A test's own check of each message sent to a queue URL (the tests check
/// bodies against the JSON Schemas); `Err` refuses the send like a broken
/// SQS rule.
pub(crate) type Check = fn(&str, &Message) -> Result<(), String>;

impl std::fmt::Debug for MemoryQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryQueues")
    }
}

impl MemoryQueues {
    /// Empty queues that apply SQS's limits only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues that also refuse what `check` refuses.
    pub fn checked_by(check: Check) -> Self {
        Self {
            check: Some(check),
            ..Self::default()
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the next call do `script` (calls take scripts in order).
    pub fn then(&self, script: Script) {
        self.state().script.push_back(script);
    }

    /// Every message `queue` holds, in the order SQS took them.
    pub fn messages(&self, queue: &str) -> Vec<Message> {
        self.state().queues.get(queue).cloned().unwrap_or_default()
    }

    /// Removes and returns every message `queue` holds.
    pub fn take(&self, queue: &str) -> Vec<Message> {
        self.state().queues.remove(queue).unwrap_or_default()
    }

    /// Every rule of SQS's that a sent batch broke (empty when all was well).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// How many `SendMessageBatch` calls were made.
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    /// Makes every call to `queue` fail (`true`), as while it is down or
    /// throttling, or answer again (`false`).
    pub fn set_down(&self, queue: &str, down: bool) {
        let mut state = self.state();
        if down {
            state.down.insert(queue.to_owned());
        } else {
            state.down.remove(queue);
        }
    }
}

impl Queues for MemoryQueues {
    async fn send_batch(&self, queue: &QueueUrl, entries: &[&Message]) -> Result<EntryResults, PublishError> {
        let mut state = self.state();
        state.calls += 1;
        if state.down.contains(&queue.url) {
            return Err(PublishError::Sqs("ServiceUnavailable: the queue is down".to_owned()));
        }
        let owned: Vec<Message> = entries.iter().map(|m| (*m).clone()).collect();
        let mut violations = batch_violations(&owned, queue.fifo);
        if let Some(check) = self.check {
            violations.extend(owned.iter().filter_map(|m| check(&queue.url, m).err()));
        }
        if !violations.is_empty() {
            let text = violations.join("; ");
            state.violations.push(format!("{}: {text}", queue.url));
            return Err(PublishError::Sqs(format!("InvalidParameterValue: {text}")));
        }
        let mut fail_entry = None;
        match state.script.pop_front() {
            Some(Script::FailCall) => return Err(PublishError::Sqs("scripted failure".to_owned())),
            Some(Script::Panic) => {
                drop(state);
                panic!("scripted panic in SendMessageBatch");
            }
            Some(Script::FailEntry(n)) => fail_entry = Some(n),
            None => {}
        }
        let mut results = Vec::with_capacity(owned.len());
        for (index, message) in owned.into_iter().enumerate() {
            if fail_entry == Some(index) {
                results.push(Err(EntryFailure {
                    code: "InternalError".to_owned(),
                    message: "scripted entry failure".to_owned(),
                    sender_fault: false,
                }));
                continue;
            }
            state.next_id += 1;
            let id = format!("mem-{}", state.next_id);
            let repeat = message.deduplication_id.clone().is_some_and(|dedup| {
                let group = message.group_id.clone().unwrap_or_default();
                queue.fifo && !state.deduplication_ids.insert((queue.url.clone(), group, dedup))
            });
            if !repeat {
                state.queues.entry(queue.url.clone()).or_default().push(message);
            }
            results.push(Ok(id));
        }
        Ok(results)
    }

    async fn reachable(&self, queue: &QueueUrl) -> Result<(), PublishError> {
        match self.state().down.contains(&queue.url) {
            true => Err(PublishError::Sqs("ServiceUnavailable: the queue is down".to_owned())),
            false => Ok(()),
        }
    }
}

/// An in-memory archive that behaves as Firehose does where it matters:
/// every `PutRecordBatch` is checked against Firehose's limits
/// ([`crate::egress::archive::batch_violations`]) and refused when it breaks one (the
/// breach is recorded); records can be made to fail one by one, or the
/// whole archive to be down.
#[derive(Default)]
pub struct MemoryArchive {
    state: Mutex<ArchiveState>,
}

#[derive(Default)]
struct ArchiveState {
    records: Vec<Vec<u8>>,
    violations: Vec<String>,
    script: VecDeque<Script>,
    down: bool,
    throttled_calls: usize,
    calls: usize,
}

impl std::fmt::Debug for MemoryArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryArchive")
    }
}

impl MemoryArchive {
    /// An empty archive that applies Firehose's limits.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ArchiveState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the next call do `script` (`FailEntry(n)`: record `n` fails).
    pub fn then(&self, script: Script) {
        self.state().script.push_back(script);
    }

    /// Refuses every call from now on (`false`: takes them again).
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Throttles the next `calls` calls whole, as Firehose does when the
    /// stream's quota is used up (`ServiceUnavailableException`).
    pub fn throttle_next(&self, calls: usize) {
        self.state().throttled_calls = calls;
    }

    /// Every record the archive took, in order.
    pub fn records(&self) -> Vec<Vec<u8>> {
        self.state().records.clone()
    }

    /// Every rule of Firehose's that a call broke.
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// How many `PutRecordBatch` calls were made.
    pub fn calls(&self) -> usize {
        self.state().calls
    }
}

impl Archive for MemoryArchive {
    async fn put_batch(&self, _stream: &str, records: &[&[u8]]) -> Result<RecordResults, ArchiveError> {
        let mut state = self.state();
        state.calls += 1;
        let violations = archive::batch_violations(records);
        if !violations.is_empty() {
            let text = violations.join("; ");
            state.violations.push(text.clone());
            return Err(ArchiveError::Refused(format!("InvalidArgumentException: {text}")));
        }
        if state.down {
            return Err(ArchiveError::Unavailable(
                "ServiceUnavailableException: scripted".to_owned(),
            ));
        }
        if state.throttled_calls > 0 {
            state.throttled_calls -= 1;
            return Err(ArchiveError::Unavailable(
                "ServiceUnavailableException: Slow down.".to_owned(),
            ));
        }
        let fail = match state.script.pop_front() {
            Some(Script::FailCall) => return Err(ArchiveError::Refused("scripted failure".to_owned())),
            Some(Script::Panic) => {
                drop(state);
                panic!("scripted panic in PutRecordBatch");
            }
            Some(Script::FailEntry(n)) => Some(n),
            None => None,
        };
        let mut results = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            if fail == Some(index) {
                results.push(Err("ServiceUnavailableException: scripted record failure".to_owned()));
            } else {
                state.records.push(record.to_vec());
                results.push(Ok(()));
            }
        }
        Ok(results)
    }
}
