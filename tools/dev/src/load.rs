//! A load run with zero-loss reconciliation: a deterministic mix of valid
//! events, repeats, unknown enum values, batches and invalid payloads for both
//! functions, sent through the built binaries (several processes each, under
//! the Runtime API emulator) against moto; then every message on the events
//! queue and in quarantine is read back and matched against what the senders
//! were told, and the archive (moto's Firehose into S3) must hold one record
//! per message sent to either queue: archived = queued + quarantined.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use harness::emulator::RuntimeApi;
use harness::events::{Call, FrontDoor};
use harness::function::{function_binary, local_env, Function};
use harness::sqs;

const INSERT: &str = include_str!("../../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../../events/bodies/amlyze-customer-updated.json");

#[derive(Debug, Clone)]
struct Planned {
    function: &'static str,
    call: Call,
    door: FrontDoor,
    status: u16,
    events: usize,
}

/// Request `i` of the mix (the same every run).
fn plan(i: usize) -> Planned {
    let door = FrontDoor::ALL[i % 4];
    let artemis = |body: String, status: u16| Planned {
        function: "artemis",
        call: Call::post("/hooks/artemis", body),
        door,
        status,
        events: usize::from(status == 202),
    };
    let amlyze_call = |id: String, body: String| {
        Call::post("/hooks/amlyze", body)
            .header("ce-id", &id)
            .header("ce-source", "load")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-specversion", "1.0")
    };
    let amlyze = |call: Call, status: u16, events: usize| Planned {
        function: "amlyze",
        call,
        door,
        status,
        events,
    };
    let customer = (i / 10) as u64 + 1;
    match i % 10 {
        // A new Artemis customer.
        0 => artemis(INSERT.replace("123456", &customer.to_string()), 202),
        // The same callback again (Artemis does not retry, but a resend happens):
        // a new delivery, so a new id with the same dedupekey.
        1 => artemis(INSERT.replace("123456", &customer.to_string()), 202),
        // Unknown enum values.
        2 => artemis(
            INSERT
                .replace("123456", &customer.to_string())
                .replace("\"PENDING\"", "\"ON_HOLD\"")
                .replace("\"INSERT\"", "\"UPDATE\""),
            202,
        ),
        // Invalid: wrong types.
        3 => artemis(format!("{{\"customerId\": \"{customer}\", \"load\": {i}}}"), 400),
        4 => amlyze(amlyze_call(format!("load-{customer}"), AMLYZE.to_owned()), 202, 1),
        // Amlyze resends an event: same Ce-Id and source.
        5 => amlyze(amlyze_call(format!("load-{customer}"), AMLYZE.to_owned()), 202, 1),
        6 => amlyze(
            amlyze_call(
                format!("load-unknown-{customer}"),
                AMLYZE.replace("\"EXTREME\"", "\"SEVERE\""),
            ),
            202,
            1,
        ),
        7 => amlyze(
            amlyze_call(format!("load-bad-{customer}"), AMLYZE.replace("true", "\"yes\"")),
            400,
            0,
        ),
        8 => {
            let events: Vec<Value> = (0..3)
                .map(|n| {
                    json!({"specversion": "1.0", "id": format!("load-batch-{customer}-{n}"), "source": "load",
                           "type": "com.amlyze.customer.updated", "data": serde_json::from_str::<Value>(AMLYZE).unwrap_or_default()})
                })
                .collect();
            let call = Call::post("/hooks/amlyze", Value::Array(events).to_string())
                .header("content-type", "application/cloudevents-batch+json");
            amlyze(call, 202, 3)
        }
        _ => artemis(format!("{{\"truncated\": {i}"), 400),
    }
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub requests: usize,
    pub by_status: HashMap<u16, usize>,
    pub unexpected_status: usize,
    pub accepted_events: usize,
    pub distinct_accepted_ids: usize,
    pub on_queue: usize,
    pub quarantined: usize,
    /// Accepted ids not found on the queue.
    pub lost: usize,
    /// Messages on the queue beyond what the senders were told was accepted.
    pub unexpected_messages: usize,
    /// 400 answers whose request is not in quarantine.
    pub rejections_not_quarantined: usize,
    /// Events and quarantine records in the archive.
    pub archived_events: usize,
    pub archived_quarantine: usize,
    /// Kept messages with no archive record, or archive records beyond them.
    pub archive_mismatch: usize,
    /// Time spent sending (reading back and reconciling not included).
    pub elapsed: Duration,
}

impl Report {
    fn add(&mut self, other: &Report) {
        self.requests += other.requests;
        for (status, count) in &other.by_status {
            *self.by_status.entry(*status).or_default() += count;
        }
        self.unexpected_status += other.unexpected_status;
        self.accepted_events += other.accepted_events;
        self.distinct_accepted_ids += other.distinct_accepted_ids;
        self.on_queue += other.on_queue;
        self.quarantined += other.quarantined;
        self.lost += other.lost;
        self.unexpected_messages += other.unexpected_messages;
        self.rejections_not_quarantined += other.rejections_not_quarantined;
        self.archived_events += other.archived_events;
        self.archived_quarantine += other.archived_quarantine;
        self.archive_mismatch += other.archive_mismatch;
        self.elapsed += other.elapsed;
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn zero_loss(&self) -> bool {
        self.lost == 0
            && self.unexpected_messages == 0
            && self.rejections_not_quarantined == 0
            && self.unexpected_status == 0
            && self.archive_mismatch == 0
    }

    pub fn print(&self, label: &str) {
        let mut statuses: Vec<_> = self.by_status.iter().collect();
        statuses.sort();
        println!(
            "{label}: {} requests in {:.1} s ({:.0} req/s); statuses {statuses:?}; {} events accepted ({} distinct ids), {} messages on the queue, {} quarantined; archived {} events + {} quarantine records (mismatch {}); lost {}, unexpected messages {}, 400s not quarantined {}, unexpected statuses {}",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            self.accepted_events,
            self.distinct_accepted_ids,
            self.on_queue,
            self.quarantined,
            self.archived_events,
            self.archived_quarantine,
            self.archive_mismatch,
            self.lost,
            self.unexpected_messages,
            self.rejections_not_quarantined,
            self.unexpected_status
        );
    }
}

/// Requests per round: moto slows down as a queue grows (and its FIFO
/// deduplication scans the whole queue), so a long run is a series of rounds,
/// each on fresh queues, reconciled on its own and added up.
pub const ROUND: usize = 2_000;

/// Sends `requests` requests with `concurrency` senders through `processes`
/// processes of each function, against the SQS (and Firehose) at `endpoint`;
/// the archive's bucket is read at `raw_endpoint` (moto itself).
pub async fn run(
    (endpoint, raw_endpoint): (&str, &str),
    requests: usize,
    concurrency: usize,
    processes: usize,
    fifo: bool,
) -> Report {
    let mut total = Report::default();
    let mut start = 0;
    // moto's FIFO sends scan the whole queue (a batch entry twice): half-size rounds.
    let round = if fifo { ROUND / 2 } else { ROUND };
    while start < requests {
        let end = (start + round).min(requests);
        let round = run_round((endpoint, raw_endpoint), start..end, concurrency, processes, fifo).await;
        total.add(&round);
        start = end;
    }
    total
}

async fn run_round(
    (endpoint, raw_endpoint): (&str, &str),
    range: std::ops::Range<usize>,
    concurrency: usize,
    processes: usize,
    fifo: bool,
) -> Report {
    let requests = range.end;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "load-events", fifo).await;
    let quarantine = sqs::create_queue(&client, "load-quarantine", false).await;
    let archive = harness::archive::LocalArchive::create(raw_endpoint).await;
    let env = local_env(
        endpoint,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "warn"),
            ("QUEUE_URL", queue.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
            ("ARCHIVE_STREAM", archive.stream.as_str()),
        ],
    );
    let log = std::env::temp_dir().join(format!("load-{}.log", std::process::id()));
    let mut functions = Vec::new();
    let mut apis = HashMap::new();
    for name in ["artemis", "amlyze"] {
        let api = RuntimeApi::start().await.expect("runtime API");
        let binary = function_binary(name);
        for _ in 0..processes {
            functions.push(Function::spawn(&binary, &api, name, &env, Some(&log)).expect("spawn function"));
        }
        apis.insert(name, api);
    }

    let next = Mutex::new(range.start);
    let outcomes = Mutex::new(Vec::with_capacity(requests));
    let started = Instant::now();
    let senders = (0..concurrency).map(|_| async {
        loop {
            let i = {
                let mut next = next.lock().await;
                if *next >= requests {
                    return;
                }
                *next += 1;
                *next - 1
            };
            let planned = plan(i);
            let event = planned.call.event(planned.door).to_string();
            let outcome = apis[planned.function]
                .invoke(event.as_bytes(), Duration::from_secs(30))
                .await;
            let response: Value = outcome
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            outcomes.lock().await.push((planned, response));
        }
    });
    futures_join_all(senders).await;
    let elapsed = started.elapsed();
    drop(functions);
    harness::function::assert_log_records_fit(&log);

    let mut report = reconcile(&client, &queue, &quarantine, outcomes.into_inner(), elapsed, fifo).await;
    // One archive record per message sent: every accepted event (a FIFO
    // queue drops repeats; the archive keeps what was sent) and every
    // quarantine record.
    let archived = archive.messages().await;
    report.archived_events = archived.iter().filter(|m| m.kind == "event").count();
    report.archived_quarantine = archived.iter().filter(|m| m.kind == "quarantine").count();
    report.archive_mismatch = report.archived_events.abs_diff(report.accepted_events)
        + report.archived_quarantine.abs_diff(report.quarantined);
    report
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let handles: Vec<_> = futures.collect();
    // All senders share this task; they interleave at each await.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

async fn reconcile(
    client: &Client,
    queue: &str,
    quarantine: &str,
    outcomes: Vec<(Planned, Value)>,
    elapsed: Duration,
    fifo: bool,
) -> Report {
    let mut report = Report {
        requests: outcomes.len(),
        elapsed,
        ..Report::default()
    };
    // What the senders were told was accepted, id → how many times.
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut rejected_bodies: HashMap<String, usize> = HashMap::new();
    for (planned, response) in &outcomes {
        let status = response["statusCode"].as_u64().unwrap_or_default() as u16;
        *report.by_status.entry(status).or_default() += 1;
        if status != planned.status {
            report.unexpected_status += 1;
        }
        if status == 202 {
            let body: Value = response["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            let ids: Vec<String> = match body.get("ids") {
                Some(Value::Array(ids)) => ids.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => body["id"].as_str().map(str::to_owned).into_iter().collect(),
            };
            assert_eq!(ids.len(), planned.events, "one id per accepted event");
            for id in ids {
                *accepted.entry(id).or_default() += 1;
                report.accepted_events += 1;
            }
        } else if status == 400 {
            *rejected_bodies
                .entry(String::from_utf8_lossy(&planned.call.body).into_owned())
                .or_default() += 1;
        }
    }
    report.distinct_accepted_ids = accepted.len();

    // A FIFO queue hands out no more of a group while one of its messages is
    // in flight, so there every message is deleted as it is read.
    let messages = if fifo {
        sqs::drain(client, queue).await
    } else {
        sqs::receive_all(client, queue).await
    };
    let mut on_queue: HashMap<String, usize> = HashMap::new();
    for message in messages {
        *on_queue
            .entry(message.json()["id"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
        report.on_queue += 1;
    }
    for (id, told) in &accepted {
        // Standard queue: one message per 202. FIFO: repeats are dropped by SQS.
        let expected = if fifo { 1 } else { *told };
        let found = on_queue.get(id).copied().unwrap_or_default();
        report.lost += expected.saturating_sub(found);
        report.unexpected_messages += found.saturating_sub(expected);
    }
    report.unexpected_messages += on_queue
        .iter()
        .filter(|(id, _)| !accepted.contains_key(*id))
        .map(|(_, n)| n)
        .sum::<usize>();

    for message in sqs::receive_all(client, quarantine).await {
        report.quarantined += 1;
        let body = message.json()["body"].as_str().unwrap_or_default().to_owned();
        if let Some(count) = rejected_bodies.get_mut(&body) {
            *count = count.saturating_sub(1);
        }
    }
    report.rejections_not_quarantined = rejected_bodies.values().sum();
    report
}
