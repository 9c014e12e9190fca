//! Time budgets and timeouts, in one place: what each call to AWS may take,
//! so that a request is answered within 10 s whatever SQS or Firehose do
//! (API Gateway waits 29 s; the functions' timeout is 15 s). The SDK's own
//! timeouts and attempts are [`platform::aws`]'s.

use std::time::Duration;

pub use platform::aws::MAX_ATTEMPTS;

// Worst case for one request: the main queue's budget, then the quarantine's
// (a failed enqueue is quarantined), under 10 s in all.

/// All the sends of one request to the main queue (a batch sends several
/// `SendMessageBatch` calls; at most [`crate::vendors::cloudevents::MAX_BATCH_EVENTS`]
/// events): the SDK's whole-call timeout.
pub const PUBLISH_BUDGET: Duration = platform::aws::OPERATION_TIMEOUT;
pub(crate) const QUARANTINE_BUDGET: Duration = Duration::from_millis(3_500);
/// The most init may spend opening the connection to SQS (`SQS_PREWARM`).
pub(crate) const PREWARM_BUDGET: Duration = Duration::from_secs(2);
/// How long the archive keeps trying again what Firehose throttled: no new
/// try starts after it, so a throttled archive holds a request for about
/// this long, not for the whole budget (docs/capacity.md).
pub const ARCHIVE_RETRY_WINDOW: Duration = Duration::from_millis(300);
