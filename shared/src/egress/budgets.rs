//! Time budgets and timeouts, in one place: what each call to AWS may take,
//! so that a request is answered within 10 s whatever SQS or Firehose do
//! (API Gateway waits 29 s; the functions' timeout is 15 s). The SDK's own
//! timeouts and attempts are [`platform::aws`]'s.

use std::time::Duration;

pub use platform::aws::MAX_ATTEMPTS;

// Worst case for one request: the main queue's budget, then the fallback's
// (when one is configured), then the quarantine's (a failed enqueue is
// quarantined), cut so that the whole stays within ANSWER_BUDGET. Once a
// queue has failed a few sends in a row it is skipped for a while
// (`breaker`), so only the first requests of a sick spell wait that long.

/// Everything one request may wait on AWS, from its arrival to its answer
/// (the function's timeout is 15 s; API Gateway waits 29 s).
pub const ANSWER_BUDGET: Duration = Duration::from_secs(10);

/// All the sends of one request to the main queue (a batch sends several
/// `SendMessageBatch` calls; at most [`crate::vendors::cloudevents::MAX_BATCH_EVENTS`]
/// events): the SDK's whole-call timeout.
pub const PUBLISH_BUDGET: Duration = platform::aws::OPERATION_TIMEOUT;
pub(crate) const QUARANTINE_BUDGET: Duration = Duration::from_millis(3_500);
/// The sends to the fallback events queue in the other region, after the
/// local queue failed.
pub(crate) const FALLBACK_BUDGET: Duration = Duration::from_secs(3);
/// With a fallback, what the local queue gets before the messages go to the
/// fallback instead (SQS answers in milliseconds when well): short, so that
/// while a queue hangs the environments that have not yet learnt it (see
/// `breaker`) are not all held for seconds, which would use up the reserved
/// concurrency and refuse callbacks at the door.
pub(crate) const LOCAL_BUDGET_WITH_FALLBACK: Duration = Duration::from_secs(1);
/// What the archive gets beside a send: what it has not taken by then is
/// logged for `recover`, so a hanging Firehose holds a request for this long
/// at most, not for the queue's budget.
pub(crate) const ARCHIVE_BUDGET: Duration = Duration::from_secs(1);
/// What the health route waits for the events queue's `GetQueueAttributes`.
pub(crate) const HEALTH_BUDGET: Duration = Duration::from_secs(1);
/// How long one environment reuses a health answer.
pub(crate) const HEALTH_CACHE: Duration = Duration::from_secs(5);
/// The most init may spend opening the connection to SQS (`SQS_PREWARM`).
pub(crate) const PREWARM_BUDGET: Duration = Duration::from_secs(2);
/// How long the archive keeps trying again what Firehose throttled: no new
/// try starts after it, so a throttled archive holds a request for about
/// this long, not for the whole budget (docs/capacity.md).
pub const ARCHIVE_RETRY_WINDOW: Duration = Duration::from_millis(300);
