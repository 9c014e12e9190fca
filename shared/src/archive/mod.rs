//! The archive: a copy of every kept message (each event put on the queue,
//! each quarantine record) in an Amazon Data Firehose stream that delivers to
//! an S3 bucket with Object Lock (contract, "The archive").
//!
//! A third sink beside the two queues, built as they are: [`records`] builds
//! the archive's records from the message exactly as it was queued; the
//! [`Archive`] seam sends them ([`Firehose`] through the SDK, or
//! [`crate::memory::MemoryArchive`] with Firehose's limits, for tests);
//! [`Archiver`] only sends, in batches, within a time budget; and
//! [`archive_or_log`] logs whatever the archive refused as `unarchived_record`
//! (whole, or in parts), for `recover` to put back. The archive never changes
//! a request's answer.

mod firehose;
mod records;

use std::future::Future;
use std::time::Duration;

pub(crate) use firehose::stream_name;
pub use firehose::Firehose;
pub use records::{join_parts, records, ArchivedMessage, Kind};

use crate::log::{brief, error_in_parts};

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
    /// Firehose (or the SDK) refused the call; the text is the SDK's error.
    #[error("the archive refused the records: {0}")]
    Refused(String),
}

/// Per record of a batch: `Ok`, or why Firehose did not take it.
pub(crate) type RecordResults = Vec<Result<(), String>>;

/// The one thing the pipeline needs from Firehose: a `PutRecordBatch`.
pub trait Archive: Send + Sync + 'static {
    /// Puts 1–500 records (at most 4 MiB) in one call. `Err` when the call as
    /// a whole failed (after the SDK's own retries); otherwise one result per
    /// record, in order.
    fn put_batch(
        &self,
        stream: &str,
        records: &[&[u8]],
    ) -> impl Future<Output = Result<RecordResults, ArchiveError>> + Send;
}

/// Rounds of sending the records that failed one by one.
pub(crate) const MAX_ROUNDS: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Sends records in batches within a time budget: the one of the SQS send it
/// runs beside, so the archive never lengthens the answer past what SQS alone
/// may take.
#[derive(Debug)]
pub struct Archiver<A> {
    archive: A,
    stream: String,
}

impl<A: Archive> Archiver<A> {
    /// Archives to `stream` through `archive`.
    pub fn new(archive: A, stream: String) -> Self {
        Self { archive, stream }
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
    pub async fn send(&self, records: Vec<Vec<u8>>, budget: Duration) -> Result<(), (Vec<Vec<u8>>, String)> {
        let mut pending = records;
        let outcome = tokio::time::timeout(budget, self.send_rounds(&mut pending)).await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err((pending, reason)),
            Err(_) => Err((pending, ArchiveError::Timeout(budget).to_string())),
        }
    }

    /// Up to [`MAX_ROUNDS`] rounds for records that failed one by one;
    /// `pending` keeps what is still unsent.
    async fn send_rounds(&self, pending: &mut Vec<Vec<u8>>) -> Result<(), String> {
        let mut reason = String::new();
        for round in 0..MAX_ROUNDS {
            if pending.is_empty() {
                return Ok(());
            }
            if round > 0 {
                tokio::time::sleep(RETRY_PAUSE * round).await;
            }
            let mut failed = Vec::new();
            for range in batches(pending) {
                let batch: Vec<&[u8]> = pending[range.clone()].iter().map(Vec::as_slice).collect();
                match self.archive.put_batch(&self.stream, &batch).await {
                    Ok(results) => {
                        for (index, result) in range.zip(results) {
                            if let Err(why) = result {
                                reason = why;
                                failed.push(index);
                            }
                        }
                    }
                    // A call that failed whole was already retried by the
                    // SDK: stop, and keep every record not yet taken.
                    Err(err) => {
                        let taken: Vec<usize> = (0..range.start).filter(|i| !failed.contains(i)).collect();
                        let mut index = 0;
                        pending.retain(|_| {
                            index += 1;
                            !taken.contains(&(index - 1))
                        });
                        return Err(err.to_string());
                    }
                }
            }
            let mut index = 0;
            pending.retain(|_| {
                index += 1;
                failed.contains(&(index - 1))
            });
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(reason)
        }
    }
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
    crate::metrics::unarchived(provider, unarchived.len());
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
