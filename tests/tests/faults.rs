//! Fault injection: a proxy between the function's SQS client and moto makes
//! SQS refuse, fail, throttle, stall or lose answers, for the events queue or
//! the quarantine queue. Invariants checked every time: a 2xx only for events
//! really on the queue; an answer within the time budget; retries bounded.

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use harness::faults::{Fault, FaultProxy};
use harness::sqs::{self, drain};
use harness::{Call, FrontDoor, Moto};
use intake::testing::MAX_ATTEMPTS;
use intake::{App, Provider};
use serde_json::Value;

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
/// The handler's worst case: publish budget + quarantine budget, plus slack.
const BUDGET: Duration = Duration::from_secs(10);

struct Rig {
    proxy: FaultProxy,
    direct: Client,
    queue: String,
    quarantine: String,
    app: App,
}

impl Rig {
    async fn new() -> Rig {
        let moto = &Moto::shared().endpoint;
        let direct = sqs::client(moto).await;
        let queue = sqs::create_queue(&direct, "faults-events", false).await;
        let quarantine = sqs::create_queue(&direct, "faults-quarantine", false).await;
        let proxy = FaultProxy::start(moto).await;
        let config = harness::config(
            Provider::Artemis,
            &[("QUEUE_URL", &queue), ("QUARANTINE_QUEUE_URL", &quarantine)],
        )
        .unwrap();
        let app = App::new(
            config,
            sqs::function_client(&proxy.endpoint).await,
            harness::archive::firehose_client(&proxy.endpoint).await,
        );
        Rig {
            proxy,
            direct,
            queue,
            quarantine,
            app,
        }
    }

    /// Sends one request; returns the status and how long the answer took.
    async fn send(&self, body: &str) -> (u16, Duration) {
        let started = Instant::now();
        let response = harness::invoke(
            &self.app,
            &Call::post("/hooks/artemis", body).event(FrontDoor::HttpV2).to_string(),
        )
        .await;
        (response.status().as_u16(), started.elapsed())
    }

    async fn queued(&self) -> Vec<Value> {
        drain(&self.direct, &self.queue)
            .await
            .iter()
            .map(|m| m.json())
            .collect()
    }

    async fn quarantined(&self) -> Vec<Value> {
        drain(&self.direct, &self.quarantine)
            .await
            .iter()
            .map(|m| m.json())
            .collect()
    }
}

#[tokio::test]
async fn events_queue_failing_5xx_or_throttling_gives_503_after_bounded_retries_and_quarantines() {
    for fault in [
        Fault::Status(500, "InternalError"),
        Fault::Status(503, "ServiceUnavailable"),
        Fault::Throttle,
    ] {
        let rig = Rig::new().await;
        rig.proxy.inject(Some(&rig.queue), fault.clone());
        let (status, took) = rig.send(INSERT).await;
        assert_eq!(status, 503, "{fault:?}");
        assert!(took < BUDGET, "{fault:?}: answered in {took:?}");
        assert_eq!(
            rig.proxy.faulted(),
            MAX_ATTEMPTS as usize,
            "{fault:?}: exactly {MAX_ATTEMPTS} attempts"
        );
        assert!(rig.queued().await.is_empty(), "{fault:?}");
        let kept = rig.quarantined().await;
        assert_eq!(kept.len(), 1, "{fault:?}: the request is kept");
        assert_eq!(kept[0]["reason"], "queue-unavailable");
        assert_eq!(kept[0]["body"], INSERT);
    }
}

#[tokio::test]
async fn events_queue_refusing_connections_gives_503_and_quarantines() {
    let rig = Rig::new().await;
    rig.proxy.inject(Some(&rig.queue), Fault::Drop);
    let (status, took) = rig.send(INSERT).await;
    assert_eq!(status, 503);
    assert!(took < BUDGET, "answered in {took:?}");
    assert!(rig.proxy.faulted() <= MAX_ATTEMPTS as usize);
    assert!(rig.queued().await.is_empty());
    assert_eq!(rig.quarantined().await.len(), 1);
}

#[tokio::test]
async fn sqs_slower_than_the_budget_gives_503_in_time() {
    let rig = Rig::new().await;
    // Longer than one attempt (2 s): every attempt times out.
    rig.proxy.inject(Some(&rig.queue), Fault::Delay(Duration::from_secs(3)));
    let (status, took) = rig.send(INSERT).await;
    println!("3 s stall on every attempt: answered {status} in {took:?}");
    assert_eq!(status, 503);
    assert!(took < BUDGET, "answered in {took:?}");
    assert_eq!(rig.quarantined().await.len(), 1);
    // The stalled sends may still reach SQS after we gave up. The sender was
    // told 503 (not accepted), so this is a possible duplicate, never a loss;
    // every copy carries the same event id for consumers to dedupe on.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let late = rig.queued().await;
    assert!(late.len() <= MAX_ATTEMPTS as usize);
    assert!(late.windows(2).all(|w| w[0]["id"] == w[1]["id"]));
}

#[tokio::test]
async fn a_retry_after_a_real_failure_enqueues_once() {
    let rig = Rig::new().await;
    rig.proxy.inject(Some(&rig.queue), Fault::FailFirst(1));
    let (status, _) = rig.send(INSERT).await;
    assert_eq!(status, 202);
    assert_eq!(
        rig.queued().await.len(),
        1,
        "the failed attempt stored nothing, the retry stored one"
    );
    assert!(rig.quarantined().await.is_empty());
}

#[tokio::test]
async fn a_lost_answer_is_never_reported_as_accepted() {
    // SQS stores the message but the answer never arrives: the SDK cannot tell
    // this from a failure and retries. The function answers 503 (true: it does
    // not know), and the queue may hold up to MAX_ATTEMPTS copies with one id.
    // A FIFO queue drops those copies by MessageDeduplicationId.
    let rig = Rig::new().await;
    rig.proxy.inject(Some(&rig.queue), Fault::LoseResponse);
    let (status, took) = rig.send(INSERT).await;
    assert_eq!(status, 503);
    assert!(took < BUDGET);
    let copies = rig.queued().await;
    assert!(
        (1..=MAX_ATTEMPTS as usize).contains(&copies.len()),
        "{} copies",
        copies.len()
    );
    assert!(copies.windows(2).all(|w| w[0]["id"] == w[1]["id"]));
    assert_eq!(rig.quarantined().await.len(), 1, "and the request is in quarantine too");
}

#[tokio::test]
async fn quarantine_down_while_the_events_queue_works() {
    let rig = Rig::new().await;
    rig.proxy
        .inject(Some(&rig.quarantine), Fault::Status(500, "InternalError"));
    let (status, _) = rig.send(INSERT).await;
    assert_eq!(status, 202, "valid events are unaffected");
    assert_eq!(rig.queued().await.len(), 1);
    let (status, took) = rig.send("{\"customerId\": 1}").await;
    assert_eq!(status, 400, "the sender still learns what is wrong");
    assert!(took < BUDGET);
    assert_eq!(
        rig.proxy.faulted(),
        MAX_ATTEMPTS as usize,
        "quarantining was tried, with bounded retries"
    );
    assert!(rig.queued().await.is_empty() && rig.quarantined().await.is_empty());
    // The request is then in the function's error log record (see e2e.rs).
}

#[tokio::test]
async fn both_queues_down_gives_503_in_time() {
    let rig = Rig::new().await;
    rig.proxy.inject(None, Fault::Status(503, "ServiceUnavailable"));
    let (status, took) = rig.send(INSERT).await;
    println!("both queues failing: answered {status} in {took:?}");
    assert_eq!(status, 503);
    assert!(took < BUDGET, "answered in {took:?}");
    assert_eq!(
        rig.proxy.faulted(),
        2 * MAX_ATTEMPTS as usize,
        "events queue then quarantine, each bounded"
    );
    rig.proxy.clear();
    assert!(rig.queued().await.is_empty() && rig.quarantined().await.is_empty());
}

// The archive never changes the answer, nor pushes it past the SQS send's
// budget: a stalled, failing or refusing archive, with SQS working.
#[tokio::test]
async fn a_slow_or_failing_archive_changes_neither_the_answer_nor_its_time() {
    for fault in [
        Fault::Delay(Duration::from_secs(8)),
        Fault::Status(500, "ServiceUnavailableException"),
        Fault::Drop,
    ] {
        let moto = &Moto::shared().endpoint;
        let direct = sqs::client(moto).await;
        let queue = sqs::create_queue(&direct, "faults-archive-events", false).await;
        let archive = harness::archive::LocalArchive::create(&Moto::shared().raw_endpoint).await;
        let proxy = FaultProxy::start(moto).await;
        proxy.inject(Some(&archive.stream), fault.clone());
        let vars = [
            ("QUEUE_URL", queue.as_str()),
            ("ARCHIVE_STREAM", archive.stream.as_str()),
        ];
        let config = harness::config(Provider::Artemis, &vars).unwrap();
        let app = App::new(
            config,
            sqs::function_client(&proxy.endpoint).await,
            harness::archive::firehose_client(&proxy.endpoint).await,
        );
        let started = Instant::now();
        let response = harness::invoke(
            &app,
            &Call::post("/hooks/artemis", INSERT)
                .event(FrontDoor::HttpV2)
                .to_string(),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(response.status(), 202, "{fault:?}");
        assert!(
            took <= intake::pipeline::PUBLISH_BUDGET + Duration::from_millis(500),
            "{fault:?}: answered in {took:?}, past the SQS send's budget"
        );
        assert!(proxy.faulted() >= 1, "{fault:?}: the archive was tried");
        assert_eq!(drain(&direct, &queue).await.len(), 1, "{fault:?}: the event is queued");
    }
}
