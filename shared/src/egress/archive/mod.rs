//! The archive: a copy of every kept message (each event put on the queue,
//! each quarantine record) in an Amazon Data Firehose stream that delivers to
//! an S3 bucket with Object Lock (contract, "The archive").
//!
//! A third sink beside the two queues, built as they are: [`records`] builds
//! the archive's records from the message exactly as it was queued; the
//! [`Archive`] seam sends them ([`Firehose`] through the SDK, or
//! [`crate::egress::memory::MemoryArchive`] with Firehose's limits, for tests);
//! [`Archiver`] only sends, in batches, within a time budget; and
//! [`archive_or_log`] logs whatever the archive refused as `unarchived_record`
//! (whole, or in parts), for `recover` to put back. The archive never changes
//! a request's answer.

mod firehose;
mod records;

use std::future::Future;
use std::time::{Duration, Instant};

pub(crate) use firehose::stream_name;
pub use firehose::Firehose;
pub use records::{join_parts, records, ArchivedMessage, Kind};

use crate::egress::breaker::{Admission, Breaker, Outcome, COOL_OFF, PROBE_BUDGET};
use crate::egress::budgets::ARCHIVE_RETRY_WINDOW;
use crate::egress::log::{brief, error_in_parts};

/// Firehose: the largest record (1,000 KiB).
pub const MAX_RECORD_BYTES: usize = 1000 * 1024;
/// Firehose: records in one `PutRecordBatch`.
pub(crate) const MAX_BATCH_RECORDS: usize = 500;
/// Firehose: the data of one `PutRecordBatch` (4 MiB).
pub(crate) const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Every rule of Firehose's that a `PutRecordBatch` of `records` breaks.
pub fn batch_violations<R: AsRef<[u8]>>(records: &[R]) -> Vec<String> {
    let mut found = Vec::new();
    if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
        found.push(format!(
            "{} records in one PutRecordBatch (1 to {MAX_BATCH_RECORDS})",
            records.len()
        ));
    }
    let total: usize = records.iter().map(|r| r.as_ref().len()).sum();
    if total > MAX_BATCH_BYTES {
        found.push(format!("the batch is {total} bytes, over {MAX_BATCH_BYTES}"));
    }
    for (index, record) in records.iter().enumerate() {
        let size = record.as_ref().len();
        if size == 0 || size > MAX_RECORD_BYTES {
            found.push(format!("record {index} is {size} bytes (1 to {MAX_RECORD_BYTES})"));
        }
    }
    found
}

/// Why a `PutRecordBatch` call failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// No answer within the budget.
    #[error("the archive did not answer within {0:?}")]
    Timeout(Duration),
    /// Firehose throttled the call (`ServiceUnavailableException`: the
    /// stream's quota is used up this second) or could not be reached: worth
    /// another try after a pause.
    #[error("the archive is throttling or unavailable: {0}")]
    Unavailable(String),
    /// Firehose (or the SDK) refused the call for good (a bad stream name, a
    /// missing permission); the text is the SDK's error.
    #[error("the archive refused the records: {0}")]
    Refused(String),
}

impl ArchiveError {
    /// Whether another try may succeed.
    fn is_retryable(&self) -> bool {
        matches!(self, ArchiveError::Unavailable(_) | ArchiveError::Timeout(_))
    }
}

/// Per record of a batch: `Ok`, or why Firehose did not take it. A record
/// fails alone only when Firehose throttled it or failed inside
/// (`ServiceUnavailableException`, `InternalFailure`): always worth another try.
pub(crate) type RecordResults = Vec<Result<(), String>>;

/// The one thing the pipeline needs from Firehose: a `PutRecordBatch`.
pub trait Archive: Send + Sync + 'static {
    /// Puts 1–500 records (at most 4 MiB) in one call, once (retries are the
    /// [`Archiver`]'s). `Err` when the call as a whole failed; otherwise one
    /// result per record, in order.
    fn put_batch(
        &self,
        stream: &str,
        records: &[&[u8]],
    ) -> impl Future<Output = Result<RecordResults, ArchiveError>> + Send;
}

/// The first pause before sending again what Firehose throttled; each
/// further pause doubles, up to [`MAX_PAUSE`], with jitter.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(160);

/// Sends records in batches within a time budget: the one of the SQS send it
/// runs beside, so the archive never lengthens the answer past what SQS alone
/// may take. What Firehose throttles (a whole call or single records) is sent
/// again after a jittered, doubling pause, but no new try starts once
/// [`ARCHIVE_RETRY_WINDOW`] has passed: a throttled archive must not hold a
/// Lambda environment for long, or a burst that made Firehose throttle would
/// use up the concurrency that keeps the door open (docs/capacity.md).
/// Like the queues, the archive has a [`Breaker`]: a Firehose that failed a
/// few sends in a row is not tried for a short cool-off, and what would have
/// gone to it is logged at once for `recover`.
#[derive(Debug)]
pub struct Archiver<A> {
    archive: A,
    stream: String,
    breaker: Breaker,
}

/// Why a pass over the pending records left some unsent.
struct Unsent {
    reason: String,
    retryable: bool,
}

impl<A: Archive> Archiver<A> {
    /// Archives to `stream` through `archive`.
    pub fn new(archive: A, stream: String) -> Self {
        Self {
            archive,
            stream,
            breaker: Breaker::new(),
        }
    }

    /// The seam itself (tests read an in-memory archive back through it).
    pub fn archive(&self) -> &A {
        &self.archive
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Sends every record within `budget`; returns those the archive did not
    /// take (all still unsent when the time ran out), with the last reason.
    /// Nothing is sent while the breaker is open (all are returned, at once).
    pub async fn send(&self, records: Vec<Vec<u8>>, budget: Duration) -> Result<(), (Vec<Vec<u8>>, String)> {
        if budget.is_zero() {
            // No time left for this request: not a word about the archive.
            return Err((records, ArchiveError::Timeout(budget).to_string()));
        }
        let budget = match self.breaker.admit(Instant::now()) {
            Admission::Send => budget,
            Admission::Probe => budget.min(PROBE_BUDGET),
            Admission::Skip => {
                let reason =
                    format!("not tried: the archive failed its last sends (tried again after a {COOL_OFF:?} cool-off)");
                return Err((records, reason));
            }
        };
        let mut pending = records;
        let outcome = tokio::time::timeout(budget, self.send_with_retries(&mut pending)).await;
        let seen = match &outcome {
            Ok(Ok(())) => Outcome::Answered,
            Ok(Err(_)) => Outcome::Failed,
            Err(_) => Outcome::TimedOut,
        };
        self.breaker.record(seen, Instant::now());
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err((pending, reason)),
            Err(_) => Err((pending, ArchiveError::Timeout(budget).to_string())),
        }
    }

    /// Passes over `pending` until it is empty, a failure is final, or the
    /// retry window is over; `pending` keeps what is still unsent.
    async fn send_with_retries(&self, pending: &mut Vec<Vec<u8>>) -> Result<(), String> {
        let started = Instant::now();
        let mut pause = FIRST_PAUSE;
        loop {
            let unsent = match self.send_once(pending).await {
                Ok(()) => return Ok(()),
                Err(unsent) => unsent,
            };
            let wait = jittered(pause);
            if !unsent.retryable || started.elapsed() + wait > ARCHIVE_RETRY_WINDOW {
                return Err(unsent.reason);
            }
            tokio::time::sleep(wait).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// One pass: every pending record, in as few calls as Firehose allows.
    /// Keeps in `pending` the records not taken: those that failed one by
    /// one, and after a call that failed whole, that call's and the rest.
    async fn send_once(&self, pending: &mut Vec<Vec<u8>>) -> Result<(), Unsent> {
        let mut unsent: Option<Unsent> = None;
        let mut kept = vec![false; pending.len()];
        for range in batches(pending) {
            let batch: Vec<&[u8]> = pending[range.clone()].iter().map(Vec::as_slice).collect();
            match self.archive.put_batch(&self.stream, &batch).await {
                Ok(results) => {
                    for (index, result) in range.zip(results) {
                        if let Err(reason) = result {
                            kept[index] = true;
                            unsent = Some(Unsent {
                                reason,
                                retryable: true,
                            });
                        }
                    }
                }
                Err(err) => {
                    kept[range.start..].fill(true);
                    unsent = Some(Unsent {
                        retryable: err.is_retryable(),
                        reason: err.to_string(),
                    });
                    break;
                }
            }
        }
        let mut index = 0;
        pending.retain(|_| {
            index += 1;
            kept[index - 1]
        });
        unsent.map_or(Ok(()), Err)
    }
}

/// `pause` with equal jitter: between half of it and all of it, so that
/// environments throttled together do not all try again at once.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// Consecutive ranges of `records` that Firehose takes in one call: at most
/// 500 records and 4 MiB.
fn batches(records: &[Vec<u8>]) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut size = 0;
    for (index, record) in records.iter().enumerate() {
        match ranges.last_mut() {
            Some(range) if range.len() < MAX_BATCH_RECORDS && size + record.len() <= MAX_BATCH_BYTES => {
                range.end = index + 1;
                size += record.len();
            }
            _ => {
                ranges.push(index..index + 1);
                size = record.len();
            }
        }
    }
    ranges
}

/// Archives `records`; what the archive refuses after its retries is logged
/// whole as `unarchived_record` (in numbered parts when large) and counted in
/// the `Unarchived` metric, for `recover` to archive later. Returns how many
/// records were not archived. Without an archive, nothing to do.
pub(crate) async fn archive_or_log<A: Archive>(
    archiver: Option<&Archiver<A>>,
    provider: &str,
    records: Vec<Vec<u8>>,
    budget: Duration,
) -> usize {
    let Some(archiver) = archiver else { return 0 };
    if records.is_empty() {
        return 0;
    }
    let Err((unarchived, reason)) = archiver.send(records, budget).await else {
        return 0;
    };
    let reason = brief(&reason);
    for record in &unarchived {
        log_unarchived(provider, &reason, &String::from_utf8_lossy(record));
    }
    crate::egress::metrics::unarchived(provider, unarchived.len());
    unarchived.len()
}

/// One archive record the archive refused, in the log.
fn log_unarchived(provider: &str, failure: &str, record: &str) {
    let message = "the archive did not take this record; recover puts it back";
    let record = record.trim_end_matches('\n');
    error_in_parts!(record, unarchived_record, unarchived_record_part, message; provider, failure);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::memory::MemoryArchive;

    fn archiver() -> Archiver<MemoryArchive> {
        Archiver::new(MemoryArchive::new(), "archive".to_owned())
    }

    #[tokio::test]
    async fn a_throttled_call_is_sent_again_after_a_pause() {
        let archiver = archiver();
        archiver.archive().throttle_next(2);
        let started = Instant::now();
        let sent = archiver
            .send(vec![b"one".to_vec(), b"two".to_vec()], Duration::from_secs(5))
            .await;
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(
            archiver.archive().calls(),
            3,
            "two throttled calls, then the one that went"
        );
        assert_eq!(archiver.archive().records(), [b"one".to_vec(), b"two".to_vec()]);
        // Pauses of 10-20 ms, then 20-40 ms: a backoff, not a busy loop.
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_throttled_record_alone_is_sent_again() {
        let archiver = archiver();
        archiver.archive().then(crate::egress::memory::Script::FailEntry(0));
        let sent = archiver
            .send(vec![b"one".to_vec(), b"two".to_vec()], Duration::from_secs(5))
            .await;
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(
            archiver.archive().records(),
            [b"two".to_vec(), b"one".to_vec()],
            "each once"
        );
    }

    #[tokio::test]
    async fn a_throttled_archive_gives_up_after_the_retry_window_not_the_budget() {
        let archiver = archiver();
        archiver.archive().set_down(true);
        let started = Instant::now();
        let sent = archiver.send(vec![b"one".to_vec()], Duration::from_secs(5)).await;
        let took = started.elapsed();
        let (unsent, reason) = sent.expect_err("never taken");
        assert_eq!(unsent, [b"one".to_vec()], "what was not taken comes back, to be logged");
        assert!(reason.contains("ServiceUnavailableException"), "{reason}");
        assert!(
            archiver.archive().calls() >= 3,
            "tried again: {}",
            archiver.archive().calls()
        );
        assert!(
            took <= ARCHIVE_RETRY_WINDOW + Duration::from_millis(100),
            "a throttled archive held the request {took:?}"
        );
    }

    #[tokio::test]
    async fn a_call_refused_for_good_is_not_tried_again() {
        let archiver = archiver();
        archiver.archive().then(crate::egress::memory::Script::FailCall);
        let sent = archiver.send(vec![b"one".to_vec()], Duration::from_secs(5)).await;
        assert!(sent.is_err());
        assert_eq!(archiver.archive().calls(), 1);
    }

    #[test]
    fn batches_hold_at_most_500_records_and_4_mib() {
        let small = vec![vec![b'x'; 10]; 1201];
        let sizes: Vec<usize> = batches(&small).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);
        let big = vec![vec![b'x'; MAX_RECORD_BYTES]; 9];
        let ranges = batches(&big);
        assert_eq!(ranges, [0..4, 4..8, 8..9]);
        for range in ranges {
            assert!(batch_violations(&big[range]).is_empty());
        }
    }

    #[test]
    fn the_limits_are_firehoses() {
        assert!(batch_violations(&[vec![b'x'; MAX_RECORD_BYTES]]).is_empty());
        assert_eq!(batch_violations(&[vec![b'x'; MAX_RECORD_BYTES + 1]]).len(), 1);
        assert_eq!(batch_violations(&vec![vec![b'x'; 1]; 501]).len(), 1);
        assert_eq!(batch_violations(&vec![vec![b'x'; 900 * 1024]; 5]).len(), 1);
        assert_eq!(batch_violations::<Vec<u8>>(&[]).len(), 1);
        assert_eq!(batch_violations(&[Vec::new()]).len(), 1);
    }
}
