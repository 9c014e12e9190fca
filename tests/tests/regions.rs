//! A sick region and a dead one, on two local regions (see `harness::drill`):
//! region A (us-east-1, the primary) and region B (us-west-2), each a moto
//! server with the built `artemis` and `amlyze` under its own emulator, each
//! region's functions falling back to the other's queues, health checks on,
//! behind a front door that fails over as Route 53 would.
//!
//! The drill: a steady replay of fixture callbacks (both vendors, every
//! request its own id; eight customers per vendor, so the order of their
//! events matters); mid-replay region A's SQS hangs (A spills to B, fails
//! fast, reports unhealthy, the front door moves to B), heals (A healthy
//! again, the front door moves back), then the whole of region A dies (the
//! front door moves once its checks fail). Then every answer is reconciled
//! against both regions' queues and logs, and the state a consumer builds
//! from both queues is compared with a one-region run.
//!
//! The fail-fast test: one region whose SQS endpoint is a blackhole (it
//! takes connections and never answers).
//!
//! `make drill` runs the drill and prints its timeline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use harness::consumer::{self, create_table, dynamodb, scan, sqs_event, text};
use harness::drill::{self, logged_request_ids, median, Answer, HealthChecks, Region, Router, Timeline, VENDORS};
use harness::emulator::RuntimeApi;
use harness::faults::Blackhole;
use harness::function::{function_binary, json_log_env, recover, Function};
use harness::sqs::{self, drain, receive_all, Received};
use harness::{Call, FrontDoor, Moto};
use serde_json::{json, Value};

const ARTEMIS: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");
/// One callback every tick, the vendors in turn (10 a second).
const TICK: Duration = Duration::from_millis(100);
/// Customers per vendor: each gets many events, so their order matters.
const CUSTOMERS: usize = 8;
/// Route 53's checks scaled down: every 100 ms, 500 ms to answer, 3 in a row.
const CHECKS: HealthChecks = HealthChecks {
    interval: Duration::from_millis(100),
    timeout: Duration::from_millis(500),
    threshold: 3,
};
/// A function that waited on a hanging queue is held at least this long;
/// a shorter hold means it did not wait (its breaker was open).
const FAST_HOLD: Duration = Duration::from_millis(500);
/// Requests before the breaker has surely opened (fail-fast test).
const WARM_UP: usize = 8;
const FAIL_FAST_REQUESTS: usize = 20;
const FAST_MEDIAN: Duration = Duration::from_millis(100);
/// Every answer is within the design's ~10 s, whatever SQS does.
const ANSWER_BOUND: Duration = Duration::from_millis(10_500);

const STATUSES: [&str; 6] = ["DRAFT", "PENDING", "CLEARED", "REQUIRE_UPDATE", "REJECTED", "ACCEPTED"];
const RATINGS: [&str; 5] = ["LOW", "MEDIUM_LOW", "MEDIUM", "MEDIUM_HIGH", "HIGH"];
const LEVELS: [&str; 5] = ["NONE", "LOW", "MEDIUM", "HIGH", "EXTREME"];

fn artemis_customer_id(seq: usize) -> u64 {
    500_000 + seq as u64
}

/// Callback `seq` of the replay: the vendors in turn, each its own request
/// id (an Artemis event's id derives from it) or CloudEvents id; one in
/// eleven invalid.
fn callback(seq: usize) -> (&'static str, Call) {
    let vendor = VENDORS[seq % 2];
    let request_id = format!("drill-{vendor}-{seq}");
    let call = if vendor == "artemis" {
        let mut body: Value = serde_json::from_str(ARTEMIS).expect("fixture");
        body["customerId"] = json!(artemis_customer_id(seq));
        body["customerReferenceId"] = json!(format!("DRILL-{}", (seq / 2) % CUSTOMERS));
        body["status"] = json!(STATUSES[seq % STATUSES.len()]);
        body["riskRating"] = json!(RATINGS[(seq / 3) % RATINGS.len()]);
        body["action"] = json!(if seq < 2 * CUSTOMERS { "INSERT" } else { "UPDATE" });
        if invalid(seq) {
            body = json!({ "customerId": artemis_customer_id(seq) });
        }
        Call::post("/hooks/artemis", body.to_string())
    } else {
        let time = ce_time(seq);
        let mut body: Value = serde_json::from_str(AMLYZE).expect("fixture");
        let fields = body.as_object_mut().expect("an object");
        fields.remove("updateAt");
        fields.insert("updatedAt".into(), json!(time));
        fields.insert(
            "customerExternalID".into(),
            json!(format!("drill-{}", (seq / 2) % CUSTOMERS)),
        );
        fields.insert("sanctioned".into(), json!(seq % 3 == 1));
        fields.insert("pep".into(), json!(seq % 4 == 1));
        fields.insert("riskLevel".into(), json!(LEVELS[(seq / 2) % LEVELS.len()]));
        if invalid(seq) {
            fields.insert("sanctioned".into(), json!("maybe"));
        }
        Call::post("/hooks/amlyze", body.to_string())
            .header("ce-id", &format!("drill-amlyze-{seq}"))
            .header("ce-source", "https://amlyze.example/screening")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-specversion", "1.0")
            .header("ce-time", &time)
    };
    (vendor, call.request_id(&request_id))
}

/// Whether callback `seq` is one the vendor got wrong (a 400, kept in
/// quarantine): one in eleven, of both vendors.
fn invalid(seq: usize) -> bool {
    seq % 11 == 5
}

/// Amlyze's event time of callback `seq`: one second apart, in send order.
fn ce_time(seq: usize) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(1_798_761_600 + seq as i64).expect("a time");
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// The replay's callback an event on a queue came from.
fn seq_of(event: &Value) -> Option<usize> {
    match event["provider"].as_str()? {
        "artemis" => {
            let id = event["data"]["customerId"].as_u64()?;
            id.checked_sub(artemis_customer_id(0)).map(|s| s as usize)
        }
        _ => event["id"].as_str()?.strip_prefix("drill-amlyze-")?.parse().ok(),
    }
}

/// One callback the front door sent, and what came back.
#[derive(Debug, Clone)]
struct Sent {
    seq: usize,
    vendor: &'static str,
    region: &'static str,
    sent: Instant,
    answered: Instant,
    answer: Answer,
}

impl Sent {
    fn status(&self) -> Option<u16> {
        match &self.answer {
            Answer::Answered { status, .. } => Some(*status),
            Answer::NoAnswer => None,
        }
    }

    fn ids(&self) -> Vec<String> {
        match &self.answer {
            Answer::Answered { body, .. } => body["id"]
                .as_str()
                .map(|id| vec![id.to_owned()])
                .or_else(|| {
                    body["ids"]
                        .as_array()
                        .map(|ids| ids.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
                })
                .unwrap_or_default(),
            Answer::NoAnswer => Vec::new(),
        }
    }

    fn request_id(&self) -> String {
        format!("drill-{}-{}", self.vendor, self.seq)
    }
}

/// The replay: one callback every [`TICK`] through the router until stopped.
struct Replay {
    stop: Arc<AtomicBool>,
    in_flight: Arc<Mutex<HashMap<&'static str, usize>>>,
    task: tokio::task::JoinHandle<Vec<Sent>>,
}

impl Replay {
    fn start(router: Arc<Router>) -> Replay {
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
        let (stopping, counting) = (stop.clone(), in_flight.clone());
        let task = tokio::spawn(async move {
            let mut calls = Vec::new();
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq = 0;
            while !stopping.load(Ordering::SeqCst) {
                tick.tick().await;
                let region = router.route().clone();
                let (vendor, call) = callback(seq);
                let counting = counting.clone();
                *counting.lock().unwrap().entry(region.name).or_default() += 1;
                calls.push(tokio::spawn(async move {
                    let sent = Instant::now();
                    let answer = region
                        .call(vendor, &call.event(FrontDoor::RestV1), drill::GATEWAY_WAIT)
                        .await;
                    let answered = Instant::now();
                    *counting.lock().unwrap().entry(region.name).or_default() -= 1;
                    Sent {
                        seq,
                        vendor,
                        region: region.name,
                        sent,
                        answered,
                        answer,
                    }
                }));
                seq += 1;
            }
            let mut sent = Vec::new();
            for call in calls {
                sent.push(call.await.expect("a call"));
            }
            sent
        });
        Replay { stop, in_flight, task }
    }

    fn in_flight(&self, region: &str) -> usize {
        self.in_flight.lock().unwrap().get(region).copied().unwrap_or(0)
    }

    /// Waits (at most `limit`) until no callback sent to `region` is open.
    async fn settle(&self, region: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.in_flight(region) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    async fn finish(self) -> Vec<Sent> {
        self.stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(drill::GATEWAY_WAIT + Duration::from_secs(5), self.task)
            .await
            .expect("every callback ends within the gateway's wait")
            .expect("the replay")
    }
}

/// The events on a queue, by id, with the messages as read.
fn by_id(messages: &[Received]) -> BTreeMap<String, Vec<&Received>> {
    let mut ids: BTreeMap<String, Vec<&Received>> = BTreeMap::new();
    for message in messages {
        let id = message.json()["id"].as_str().expect("an event id").to_owned();
        ids.entry(id).or_default().push(message);
    }
    ids
}

/// A state table on a moto server.
struct StateTable {
    client: aws_sdk_dynamodb::Client,
    endpoint: String,
    name: String,
}

impl StateTable {
    async fn new(endpoint: &str, prefix: &str) -> StateTable {
        let client = dynamodb(endpoint).await;
        let name = create_table(&client, prefix).await;
        StateTable {
            client,
            endpoint: endpoint.to_owned(),
            name,
        }
    }

    /// A consumer of this table (one per region for a global table).
    async fn consumer(&self) -> customer_state::Consumer {
        consumer::consumer(&self.endpoint, &self.name, None).await
    }
}

/// Hands `messages` to `consumer` in batches of 10, as the event source
/// mapping does, each message it reports failed again (as SQS redelivers
/// it), a few times at most: every one must be handled.
///
/// One batch at a time: moto's DynamoDB runs each request on a thread of
/// its own and undoes a cancelled transaction by restoring a copy of the
/// tables taken before it, so concurrent transactions there lose each
/// other's writes (seen here as a state item with only its keys, which no
/// event can then update). DynamoDB itself does not; a consumer per region
/// still interleaves its batches with the other's, one after the other.
async fn deliver(consumer: &customer_state::Consumer, batch: &[Received]) {
    let mut pending: Vec<Received> = batch.to_vec();
    for _ in 0..5 {
        let response = customer_state::handle(consumer, sqs_event(&pending)).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        pending.retain(|m| failed.contains(&m.message_id));
        if pending.is_empty() {
            return;
        }
    }
    let mut why = Vec::new();
    for message in &pending {
        let event = sqs_event(std::slice::from_ref(message));
        why.push(format!(
            "{:?}: {}",
            consumer.process(&event.records[0]).await,
            message.body
        ));
    }
    panic!("the consumer kept failing messages:\n{}", why.join("\n"));
}

/// Each consumer's queue in batches of 10, the consumers taking turns.
async fn deliver_in_turns(queues: &[(&customer_state::Consumer, &[Received])]) {
    let longest = queues.iter().map(|(_, m)| m.len().div_ceil(10)).max().unwrap_or(0);
    for n in 0..longest {
        for (consumer, messages) in queues {
            if let Some(batch) = messages.chunks(10).nth(n) {
                deliver(consumer, batch).await;
            }
        }
    }
}

impl StateTable {
    /// Each customer's state item (without when it was applied and how many
    /// events were applied: those depend on the delivery order), and the
    /// keys of every event record.
    async fn state(&self) -> (BTreeMap<String, BTreeMap<String, AttributeValue>>, HashSet<String>) {
        let mut states = BTreeMap::new();
        let mut records = HashSet::new();
        for item in scan(&self.client, &self.name).await {
            let (pk, sk) = (text(&item, "pk"), text(&item, "sk"));
            if sk == "state" {
                let fields = item
                    .into_iter()
                    .filter(|(k, _)| k != "appliedAt" && k != "version")
                    .collect();
                states.insert(pk, fields);
            } else {
                records.insert(format!("{pk} {sk}"));
            }
        }
        (states, records)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drill_a_sick_then_dead_region_loses_nothing_answered_and_the_state_matches_one_region() {
    let timeline = Timeline::new();
    let (a, b) = tokio::join!(Region::create("A", "us-east-1"), Region::create("B", "us-west-2"));
    let (mut a, mut b) = (a, b);
    a.start_functions(&b).await;
    b.start_functions(&a).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    // Both regions answer their health checks before the replay starts.
    let ready = Instant::now() + Duration::from_secs(20);
    while !(a.check(Duration::from_secs(2)).await && b.check(Duration::from_secs(2)).await) {
        assert!(
            Instant::now() < ready,
            "a region's functions did not answer GET /health/<vendor> with 200 within 20 s\nA:\n{}\nB:\n{}",
            a.log_text(),
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let timeline_start = timeline.mark("replay starts: callbacks to A (both regions healthy)");
    let router = Router::start(a.clone(), b.clone(), CHECKS, timeline.clone());
    let replay = Replay::start(router.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Region A's SQS hangs.
    let hung = timeline.mark("A: SQS hangs (requests held, never answered)");
    a.hang_sqs();
    let left_a = router
        .wait_for_route("B", hung, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| {
            panic!(
                "the front door never left A while its SQS hung:\n{}",
                timeline.lines().join("\n")
            )
        });
    // What A took before the front door moved is answered (from the
    // fallback, once each environment's breaker has opened).
    assert!(
        replay.settle("A", Duration::from_secs(45)).await,
        "callbacks held in A for 45 s after its SQS hung:\n{}",
        timeline.lines().join("\n")
    );
    let drained = timeline.mark("A: every callback it took while its SQS hung is answered");

    // A's SQS answers again: A must report healthy again, and take the traffic back.
    let healed = timeline.mark("A: SQS answers again");
    a.heal_sqs();
    let back = router.wait_for_route("A", healed, Duration::from_secs(15)).await;
    let back = back.unwrap_or_else(|| {
        panic!(
            "A never reported healthy again within 15 s of its SQS answering again: its health route stays 503 while the events queue's breaker is open, and once the front door has moved away no callback comes to probe and close it:\n{}",
            timeline.lines().join("\n")
        )
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // The whole of region A dies.
    let died = a.kill().await;
    timeline.mark_at(died, "A dead: its functions killed (calls held in A get no answer)");
    let left_again = router
        .wait_for_route("B", died, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("the front door never left the dead A:\n{}", timeline.lines().join("\n")));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let sent = replay.finish().await;
    router.stop();
    let ended = timeline.mark(format!("replay ends: {} callbacks sent", sent.len()));

    // Both regions' queues and logs, read directly from moto.
    let reading = Instant::now();
    let events_a = drain(&a.client, &a.events).await;
    let events_b = drain(&b.client, &b.events).await;
    let kept_in = |messages: Vec<Received>| -> HashSet<String> {
        messages
            .iter()
            .filter_map(|m| m.json()["requestId"].as_str().map(str::to_owned))
            .collect()
    };
    let quarantine_a = kept_in(receive_all(&a.client, &a.quarantine).await);
    let quarantine_b = kept_in(receive_all(&b.client, &b.quarantine).await);
    let logs = format!("{}{}", a.log_text(), b.log_text());
    let logged: HashSet<String> = logged_request_ids(&logs).into_iter().collect();
    let (on_a, on_b) = (by_id(&events_a), by_id(&events_b));
    let read = reading.elapsed();

    // The timeline's marks read from the answers: the first 202 from A's
    // fallback, and the first that did not wait on A's queue (its breaker
    // open). One environment per function takes one call at a time, so a
    // call's hold is from when it was sent or the previous answer, whichever
    // is later.
    let mut from_a: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.region == "A" && s.sent >= hung && s.answered <= healed)
        .collect();
    from_a.sort_by_key(|s| s.answered);
    let first_spill = from_a
        .iter()
        .find(|s| s.status() == Some(202))
        .unwrap_or_else(|| panic!("no 202 from A while its SQS hung:\n{}", timeline.lines().join("\n")));
    timeline.mark_at(
        first_spill.answered,
        format!(
            "A: first 202 from the fallback ({} #{}, held {} ms)",
            first_spill.vendor,
            first_spill.seq,
            (first_spill.answered - first_spill.sent).as_millis()
        ),
    );
    let mut previous: HashMap<&str, Instant> = HashMap::new();
    let mut fast_spills = Vec::new();
    for s in &from_a {
        let began = previous.get(s.vendor).map_or(s.sent, |p| (*p).max(s.sent));
        previous.insert(s.vendor, s.answered);
        if s.status() == Some(202) && s.answered - began < FAST_HOLD {
            fast_spills.push((*s, s.answered - began));
        }
    }
    let (breaker, hold) = fast_spills.first().copied().unwrap_or_else(|| {
        panic!(
            "no call in A answered 202 without waiting on its hanging queue (breaker never open):\n{}",
            timeline.lines().join("\n")
        )
    });
    timeline.mark_at(
        breaker.answered,
        format!(
            "A: first breaker open seen ({} #{} answered 202 from the fallback after a {} ms hold)",
            breaker.vendor,
            breaker.seq,
            hold.as_millis()
        ),
    );

    // The timeline, for a person (make drill), before anything is judged.
    eprintln!("\n== two-region drill: timeline ==");
    for line in timeline.lines() {
        eprintln!("  {line}");
    }

    // Every 2xx: on exactly one region's events queue, or on both with the same id.
    let (mut only_a, mut only_b, mut both) = (0, 0, 0);
    let mut accepted_seqs = HashSet::new();
    for s in sent
        .iter()
        .filter(|s| s.status().is_some_and(|c| (200..300).contains(&c)))
    {
        let ids = s.ids();
        assert!(
            !ids.is_empty(),
            "#{} {}: a 2xx without an id: {:?}",
            s.seq,
            s.vendor,
            s.answer
        );
        for id in ids {
            let (in_a, in_b) = (on_a.get(&id).map_or(0, Vec::len), on_b.get(&id).map_or(0, Vec::len));
            assert!(
                in_a <= 1 && in_b <= 1 && in_a + in_b >= 1,
                "#{} {} answered 202 by {} as {id}: {in_a} on A's queue, {in_b} on B's",
                s.seq,
                s.vendor,
                s.region
            );
            match (in_a, in_b) {
                (1, 0) => only_a += 1,
                (0, 1) => only_b += 1,
                _ => both += 1,
            }
        }
        accepted_seqs.insert(s.seq);
    }
    assert!(
        on_b.contains_key(&first_spill.ids()[0]),
        "A's first 202 while its SQS hung is on B's queue"
    );

    // What A's functions tried on their own queue and then sent to B's went
    // there the same, as it was on the wire: body (the same id), attributes,
    // FIFO group and deduplication id, trace header.
    let id_of = |m: &platform::sqs::Message| {
        serde_json::from_str::<Value>(&m.body)
            .ok()
            .and_then(|e| e["id"].as_str().map(str::to_owned))
    };
    let to_b = harness::faults::sent_to(&b.events);
    let mut same_on_the_wire = 0;
    for tried in harness::faults::sent_to(&a.events) {
        let Some(id) = id_of(&tried) else { continue };
        if let Some(spilled) = to_b.iter().find(|m| id_of(m).as_deref() == Some(id.as_str())) {
            assert_eq!(
                spilled, &tried,
                "{id}: A's fallback sent another message than A tried locally"
            );
            same_on_the_wire += 1;
        }
    }
    assert!(
        same_on_the_wire > 0,
        "no message A tried on its hanging queue reached B's"
    );

    // Every 4xx/5xx: kept, in either region's quarantine or in a log whole.

    let refused: Vec<&Sent> = sent.iter().filter(|s| s.status().is_some_and(|c| c >= 400)).collect();
    for s in &refused {
        let request = s.request_id();
        assert!(
            quarantine_a.contains(&request) || quarantine_b.contains(&request) || logged.contains(&request),
            "#{} {} answered {:?} by {}: neither quarantined nor logged whole",
            s.seq,
            s.vendor,
            s.status(),
            s.region
        );
    }
    let other: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.status().is_some_and(|c| !(200..300).contains(&c) && c < 400))
        .collect();
    assert!(other.is_empty(), "answers neither 2xx nor 4xx/5xx: {other:?}");
    // What each answered callback should get, whichever region and queue
    // took it: a 400 for the invalid ones, a 202 for every other.
    for s in sent.iter().filter(|s| s.status().is_some()) {
        let expected = if invalid(s.seq) { 400 } else { 202 };
        assert_eq!(
            s.status(),
            Some(expected),
            "#{} {} answered by {}: {:?}",
            s.seq,
            s.vendor,
            s.region,
            s.answer
        );
    }
    // A's invalid callbacks while its SQS hung: kept in B's quarantine.
    let kept_across = refused
        .iter()
        .filter(|s| s.region == "A" && s.sent >= hung && s.answered <= healed)
        .map(|s| s.request_id())
        .filter(|r| quarantine_b.contains(r))
        .count();

    // No answer: only calls A held when it died, or sent to it after, before
    // the front door moved.
    let lost: Vec<&Sent> = sent.iter().filter(|s| s.status().is_none()).collect();
    for s in &lost {
        assert!(
            s.region == "A" && s.sent >= back && s.sent < left_again,
            "#{} {} to {} (sent t={}ms) got no answer outside A's death window",
            s.seq,
            s.vendor,
            s.region,
            timeline.ms(s.sent)
        );
    }
    let held_at_death = lost.iter().filter(|s| s.sent < died).count();
    let in_window = lost.len() - held_at_death;
    assert!(
        held_at_death <= 10,
        "{held_at_death} callbacks were in A at once when it died"
    );
    assert!(
        in_window >= 1,
        "no callback was sent into the dead A: the drill measured no window"
    );
    // What is on a queue although its caller got no 2xx (a call A held when it died).
    let on_queues: BTreeMap<usize, &Received> = events_a
        .iter()
        .chain(&events_b)
        .map(|m| (seq_of(&m.json()).expect("a replay event"), m))
        .collect();
    let unanswered_but_queued: Vec<usize> = on_queues
        .keys()
        .copied()
        .filter(|seq| !accepted_seqs.contains(seq))
        .collect();
    for seq in &unanswered_but_queued {
        let s = sent.iter().find(|s| s.seq == *seq).expect("a replay callback");
        assert!(
            s.status().is_none_or(|c| c >= 500),
            "#{seq}: on a queue, answered {:?}",
            s.answer
        );
    }

    // The consumers' state: a consumer per region, each reading every
    // message of its region's queue, in turns, into one table (a global
    // table), against a one-region run: one consumer, the same events once
    // each, in the order they were sent.
    let consuming = Instant::now();
    let once: Vec<Received> = on_queues.values().map(|m| (*m).clone()).collect();
    // The tables on the regions' moto servers (A's functions are dead,
    // its moto is not), a server each to spread the work.
    let (two_regions, one_region) = (
        StateTable::new(&b.moto.endpoint, "drill-two-regions").await,
        StateTable::new(&a.moto.endpoint, "drill-one-region").await,
    );
    let (consumer_a, consumer_b, consumer_one) = (
        two_regions.consumer().await,
        two_regions.consumer().await,
        one_region.consumer().await,
    );
    let per_region = [(&consumer_a, events_a.as_slice()), (&consumer_b, events_b.as_slice())];
    let one = [(&consumer_one, once.as_slice())];
    tokio::join!(deliver_in_turns(&per_region), deliver_in_turns(&one));
    let consumed = consuming.elapsed();
    eprintln!(
        "(reading the queues and logs took {} ms, the consumers {} ms)",
        read.as_millis(),
        consumed.as_millis()
    );
    let (states, records) = two_regions.state().await;
    let (expected_states, expected_records) = one_region.state().await;
    assert_eq!(states.len(), 2 * CUSTOMERS, "every customer has a state");
    let only_two: Vec<&String> = records.difference(&expected_records).collect();
    let only_one: Vec<&String> = expected_records.difference(&records).collect();
    assert!(
        only_two.is_empty() && only_one.is_empty(),
        "each event recorded once, as in one region: {} records only from two regions ({only_two:?}), {} only from one ({only_one:?})",
        only_two.len(),
        only_one.len()
    );
    assert_eq!(
        states, expected_states,
        "the state from two regions' queues is a one-region run's"
    );
    // And it is each customer's newest event's, field by field.
    let mut newest: HashMap<String, Value> = HashMap::new();
    for event in once.iter().map(Received::json) {
        let pk = format!(
            "{}#{}",
            event["provider"].as_str().unwrap_or_default(),
            event["subject"].as_str().unwrap_or_default()
        );
        let key = |e: &Value| {
            customer_state::state::order_key(
                e["time"].as_str().unwrap_or_default(),
                e["receivedtime"].as_str().unwrap_or_default(),
                e["id"].as_str().unwrap_or_default(),
            )
            .expect("an order key")
        };
        if newest.get(&pk).is_none_or(|n| key(n) < key(&event)) {
            newest.insert(pk, event);
        }
    }
    for (pk, event) in &newest {
        let state = &states[pk];
        let field = |name: &str| state.get(name).cloned();
        assert_eq!(
            field("eventId"),
            Some(AttributeValue::S(event["id"].as_str().unwrap().to_owned())),
            "{pk}"
        );
        let data = &event["data"];
        if event["provider"] == "artemis" {
            for name in ["status", "riskRating"] {
                assert_eq!(
                    field(name),
                    Some(AttributeValue::S(data[name].as_str().unwrap().to_owned())),
                    "{pk} {name}"
                );
            }
        } else {
            assert_eq!(
                field("sanctioned"),
                Some(AttributeValue::Bool(data["sanctioned"] == true)),
                "{pk}"
            );
            assert_eq!(
                field("riskLevel"),
                Some(AttributeValue::S(data["riskLevel"].as_str().unwrap().to_owned())),
                "{pk}"
            );
        }
    }

    // The figures, for a person (make drill).
    let answered = |region: &str| {
        sent.iter()
            .filter(|s| s.region == region && s.status().is_some())
            .count()
    };
    let spilled_in_log = a
        .log_text()
        .lines()
        .filter(|l| l.contains("\"outcome\":\"accepted\"") && l.contains("\"queue\":\"fallback\""))
        .count();
    let window = left_again - died;
    let moved = left_a - hung;
    let failback = back - healed;
    eprintln!("== figures ==");
    eprintln!(
        "  health checks every {} ms, {} ms to answer, {} in a row; one callback every {} ms",
        CHECKS.interval.as_millis(),
        CHECKS.timeout.as_millis(),
        CHECKS.threshold,
        TICK.as_millis()
    );
    eprintln!(
        "  {} callbacks: {} answered by A, {} by B; {} accepted ({} on A's queue only, {} on B's only, {} on both), {} refused and kept, {} unanswered",
        sent.len(),
        answered("A"),
        answered("B"),
        accepted_seqs.len(),
        only_a,
        only_b,
        both,
        refused.len(),
        lost.len()
    );
    eprintln!(
        "  A's SQS hung: the front door left A after {} ms; A spilled to B (its log: {} accepted lines with queue \"fallback\", {} the same on the wire as tried locally; {} invalid callbacks kept in B's quarantine); A's backlog answered {} ms after the hang",
        moved.as_millis(),
        spilled_in_log,
        same_on_the_wire,
        kept_across,
        (drained - hung).as_millis()
    );
    eprintln!(
        "  A's SQS back: the front door returned to A after {} ms",
        failback.as_millis()
    );
    eprintln!(
        "  A died: the front door left it after {} ms; lost in that window: {} callbacks ({} held in A when it died, {} sent to it after); {} of them on a queue anyway (A had sent it on before it died)",
        window.as_millis(),
        lost.len(),
        held_at_death,
        in_window,
        unanswered_but_queued.len()
    );
    eprintln!(
        "  state: {} customers, {} events: the same from both regions' queues (a consumer each, every copy, into one table) as from one region",
        states.len(),
        records.len()
    );
    eprintln!(
        "  drill ran {} ms from the first callback; reading the queues and logs took {} ms, the consumers {} ms",
        (ended - timeline_start).as_millis(),
        read.as_millis(),
        consumed.as_millis()
    );
}

/// What one fail-fast run measured.
struct FailFast {
    /// Each request's answer and how long it took, in order.
    answers: Vec<(u16, Duration)>,
}

impl FailFast {
    fn after_warm_up(&self) -> Duration {
        median(&self.answers.iter().skip(WARM_UP).map(|(_, d)| *d).collect::<Vec<_>>())
    }

    fn first(&self, n: usize) -> Vec<u128> {
        self.answers.iter().take(n).map(|(_, d)| d.as_millis()).collect()
    }
}

/// Sends artemis callback `n` of `tag` to the function behind `api`.
async fn send(api: &RuntimeApi, tag: &str, n: usize) -> (u16, Duration, Value) {
    let mut body: Value = serde_json::from_str(ARTEMIS).expect("fixture");
    body["customerId"] = json!(700_000 + n);
    let call = Call::post("/hooks/artemis", body.to_string()).request_id(&format!("{tag}-{n}"));
    let started = Instant::now();
    let answer = api
        .invoke(
            call.event(FrontDoor::HttpV2).to_string().as_bytes(),
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|e| panic!("{tag}-{n}: no answer: {e}"));
    let took = started.elapsed();
    let answer: Value = serde_json::from_slice(&answer).expect("a response document");
    let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, took, body)
}

/// No fallback: every request is kept (the quarantine queue hangs too: the
/// log), fast once the breakers are open; after the endpoint heals, a probe
/// gets a 202 again; recover puts back what the log kept.
async fn blackholed_without_fallback() -> (FailFast, Duration) {
    let moto = Moto::shared();
    let client = sqs::client(&moto.endpoint).await;
    let queue = sqs::create_queue(&client, "failfast-events", false).await;
    let quarantine = sqs::create_queue(&client, "failfast-quarantine", false).await;
    let hole = Blackhole::start(&moto.endpoint, true).await;
    let mut env = json_log_env(&hole.endpoint);
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
    let log = std::env::temp_dir().join(format!("failfast-alone-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let api = RuntimeApi::start().await.unwrap();
    let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
    let tag = format!("failfast-alone-{}", std::process::id());

    let mut run = FailFast { answers: Vec::new() };
    for n in 0..FAIL_FAST_REQUESTS {
        let (status, took, body) = send(&api, &tag, n).await;
        assert_eq!(status, 503, "request {n} while SQS is a blackhole: {body}");
        assert!(took < ANSWER_BOUND, "request {n} answered after {took:?}");
        run.answers.push((status, took));
    }
    assert!(hole.held() > 0, "the function never reached the blackhole");
    let logged: HashSet<String> = logged_request_ids(&std::fs::read_to_string(&log).unwrap_or_default())
        .into_iter()
        .collect();
    for n in 0..FAIL_FAST_REQUESTS {
        assert!(
            logged.contains(&format!("{tag}-{n}")),
            "request {n} (503) is not logged whole as unqueued_request"
        );
    }
    assert!(
        run.after_warm_up() < FAST_MEDIAN,
        "median answer after the first {WARM_UP}: {:?} (first ones: {:?} ms)",
        run.after_warm_up(),
        run.first(WARM_UP)
    );

    // Healed: within a few seconds a request probes the queue and gets a 202.
    hole.heal();
    let healed = Instant::now();
    let mut n = FAIL_FAST_REQUESTS;
    let probed = loop {
        let (status, took, body) = send(&api, &tag, n).await;
        assert!(took < ANSWER_BOUND, "request {n} answered after {took:?}");
        n += 1;
        match status {
            202 => break healed.elapsed(),
            503 => {}
            other => panic!("request {n} after the heal: {other} {body}"),
        }
        assert!(
            healed.elapsed() < Duration::from_secs(10),
            "no 202 within 10 s of SQS answering again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Every request kept once: on the events queue (its 202, or put back
    // from the log by recover), or in quarantine (a 503 once the quarantine
    // queue answered again).
    let vars = [
        ("QUEUE_URL", queue.as_str()),
        ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
    ];
    recover(&[], &log, &vars).await;
    let mut kept: Vec<String> = drain(&client, &queue)
        .await
        .iter()
        .map(|m| {
            format!(
                "{tag}-{}",
                m.json()["data"]["customerId"].as_u64().unwrap_or(0) - 700_000
            )
        })
        .chain(
            drain(&client, &quarantine)
                .await
                .iter()
                .map(|m| m.json()["requestId"].as_str().unwrap_or_default().to_owned()),
        )
        .collect();
    kept.sort();
    let mut all: Vec<String> = (0..n).map(|i| format!("{tag}-{i}")).collect();
    all.sort();
    assert_eq!(
        kept, all,
        "after recover, every request is on the events queue or in quarantine, once"
    );
    (run, probed)
}

/// With a fallback queue (another moto region): every request is answered
/// 202 with its event on the fallback, fast once the breaker is open.
async fn blackholed_with_fallback() -> FailFast {
    let moto = Moto::shared();
    let client = sqs::client(&moto.endpoint).await;
    let queue = sqs::create_queue(&client, "failfast-spill-events", false).await;
    let quarantine = sqs::create_queue(&client, "failfast-spill-quarantine", false).await;
    let west = drill::sqs_client(&moto.endpoint, "us-west-2").await;
    let pid = std::process::id();
    let fallback = drill::create_queue(&west, &moto.endpoint, &format!("failfast-fallback-{pid}")).await;
    let fallback_quarantine =
        drill::create_queue(&west, &moto.endpoint, &format!("failfast-fallback-quarantine-{pid}")).await;
    let hole = Blackhole::start(&moto.endpoint, true).await;
    let mut env = json_log_env(&hole.endpoint);
    for (k, v) in [
        ("QUEUE_URL", queue.as_str()),
        ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
        ("FALLBACK_QUEUE_URL", fallback.as_str()),
        ("FALLBACK_QUARANTINE_QUEUE_URL", fallback_quarantine.as_str()),
        ("FALLBACK_REGION", "us-west-2"),
    ] {
        env.push((k.into(), v.into()));
    }
    let log = std::env::temp_dir().join(format!("failfast-spill-{pid}.log"));
    let _ = std::fs::remove_file(&log);
    let api = RuntimeApi::start().await.unwrap();
    let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
    let tag = format!("failfast-spill-{pid}");

    let mut run = FailFast { answers: Vec::new() };
    let mut ids = Vec::new();
    for n in 0..FAIL_FAST_REQUESTS {
        let (status, took, body) = send(&api, &tag, n).await;
        assert_eq!(status, 202, "request {n} with a fallback: {body}");
        assert!(took < ANSWER_BOUND, "request {n} answered after {took:?}");
        ids.push(body["id"].as_str().expect("an id").to_owned());
        run.answers.push((status, took));
    }
    assert!(
        run.after_warm_up() < FAST_MEDIAN,
        "median answer after the first {WARM_UP}: {:?} (first ones: {:?} ms)",
        run.after_warm_up(),
        run.first(WARM_UP)
    );
    let spilled = drain(&west, &fallback).await;
    let mut on_fallback: Vec<String> = spilled
        .iter()
        .map(|m| m.json()["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    on_fallback.sort();
    ids.sort();
    assert_eq!(on_fallback, ids, "every 202's event on the fallback queue, once");
    assert!(
        drain(&client, &queue).await.is_empty(),
        "nothing reached the blackholed queue"
    );
    assert!(drain(&west, &fallback_quarantine).await.is_empty(), "nothing was kept");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blackholed_sqs_fails_fast_recovers_and_spills_to_the_fallback() {
    let ((alone, probed), spilled) = tokio::join!(blackholed_without_fallback(), blackholed_with_fallback());
    eprintln!(
        "fail fast, no fallback: all 503 and logged; first {WARM_UP} answers {:?} ms, median after them {} ms; a 202 again {} ms after SQS answered again",
        alone.first(WARM_UP),
        alone.after_warm_up().as_millis(),
        probed.as_millis()
    );
    eprintln!(
        "fail fast, with a fallback: all 202 on the fallback; first {WARM_UP} answers {:?} ms, median after them {} ms",
        spilled.first(WARM_UP),
        spilled.after_warm_up().as_millis()
    );
}
