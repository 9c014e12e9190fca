//! Time budgets and timeouts, in one place: what each call to AWS may take,
//! so that a request is answered within 10 s whatever SQS or Firehose do
//! (API Gateway waits 29 s; the functions' timeout is 15 s). A leaf: the
//! SDK clients ([`crate::aws`]) and the sinks read it.

use std::time::Duration;

/// Time budgets. Worst case for one request: the main queue's budget, then the
/// quarantine's (a failed enqueue is quarantined), under 10 s in all.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per SQS or Firehose call, the first included (the SDK's retries).
pub const MAX_ATTEMPTS: u32 = 3;
/// All the sends of one request to the main queue (a batch sends several
/// `SendMessageBatch` calls; at most [`crate::cloudevents::MAX_BATCH_EVENTS`] events).
pub const PUBLISH_BUDGET: Duration = Duration::from_millis(5_500);
pub(crate) const QUARANTINE_BUDGET: Duration = Duration::from_millis(3_500);
/// The most init may spend opening the connection to SQS (`SQS_PREWARM`).
pub(crate) const PREWARM_BUDGET: Duration = Duration::from_secs(2);
/// How long the archive keeps trying again what Firehose throttled: no new
/// try starts after it, so a throttled archive holds a request for about
/// this long, not for the whole budget (docs/capacity.md).
pub const ARCHIVE_RETRY_WINDOW: Duration = Duration::from_millis(300);
