//! The reference consumer (functions/customer-state) against moto's SQS and
//! DynamoDB: real intake messages, delivered again, out of order, in mixed
//! batches, must leave exactly the newest state per customer, each event
//! applied at most once, every stale event recorded.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use customer_state::state::Outcome;
use customer_state::Failure;
use harness::consumer::{self, create_table, dynamodb, scan, sqs_event, text, Delivered, Topic};
use harness::sqs::{drain, Received};
use harness::stack::{send, Stack};
use harness::{Call, FrontDoor, Moto};
use intake::Provider;
use intake_queue::schema::Validator;
use intake_queue::Transition;
use serde_json::json;

/// Queues each Artemis body through the artemis function; the messages, in order.
async fn artemis(stack: &Stack, bodies: &[serde_json::Value]) -> Vec<Received> {
    let app = stack.app(Provider::Artemis, &[]);
    for body in bodies {
        let answer = send(&app, &Call::post("/hooks/artemis", body.to_string()), FrontDoor::HttpV2).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    drain(&stack.client, &stack.queue).await
}

fn artemis_body(customer: &str, status: &str, risk: Option<&str>) -> serde_json::Value {
    json!({
        "customerId": 42, "customerReferenceId": customer, "profileReferenceId": "P-1",
        "status": status, "riskRating": risk, "action": "UPDATE", "message": null, "customerType": "INDIVIDUAL"
    })
}

/// Queues Amlyze `customer.updated` events (id, time, data) through the amlyze function.
async fn amlyze(stack: &Stack, events: &[(&str, &str, serde_json::Value)]) -> Vec<Received> {
    let app = stack.app(Provider::Amlyze, &[]);
    for (id, time, data) in events {
        let call = Call::post("/hooks/amlyze", data.to_string())
            .header("ce-specversion", "1.0")
            .header("ce-id", id)
            .header("ce-source", "https://amlyze.example/screening")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-time", time);
        let answer = send(&app, &call, FrontDoor::RestV1).await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    drain(&stack.client, &stack.queue).await
}

struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
    consumer: customer_state::Consumer,
}

impl Table {
    async fn new(dead_letter_queue: Option<&str>) -> Table {
        let endpoint = &Moto::shared().endpoint;
        let client = dynamodb(endpoint).await;
        let name = create_table(&client, "state").await;
        let consumer = consumer::consumer(endpoint, &name, dead_letter_queue).await;
        Table { client, name, consumer }
    }

    /// The same table, its consumer publishing transitions to `transitions`
    /// and alerts to `alerts`.
    fn publishing(mut self, transitions: Option<&Topic>, alerts: Option<&Topic>) -> Table {
        self.consumer.topics.transitions = transitions.map(|t| t.arn.clone());
        self.consumer.topics.alerts = alerts.map(|t| t.arn.clone());
        self
    }

    /// Hands `messages` to the consumer as one batch; the ids it reported failed.
    async fn deliver(&self, messages: &[&Received]) -> Vec<String> {
        let owned: Vec<Received> = messages.iter().map(|m| (*m).clone()).collect();
        let response = customer_state::handle(&self.consumer, sqs_event(&owned)).await;
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    async fn outcome(&self, message: &Received) -> Outcome {
        let owned = [message.clone()];
        let event = sqs_event(&owned);
        self.consumer.process(&event.records[0]).await.expect("handled")
    }

    async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        scan(&self.client, &self.name).await
    }

    async fn state(&self, pk: &str) -> HashMap<String, AttributeValue> {
        self.items()
            .await
            .into_iter()
            .find(|i| text(i, "pk") == pk && text(i, "sk") == "state")
            .unwrap_or_else(|| panic!("no state for {pk}"))
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn flag(item: &HashMap<String, AttributeValue>, name: &str) -> Option<bool> {
    item.get(name).and_then(|v| v.as_bool().ok()).copied()
}

#[tokio::test]
async fn a_redelivery_or_a_vendor_repeat_changes_nothing() {
    let stack = Stack::new(false).await;
    let cleared = artemis_body("CUST-R", "CLEARED", Some("LOW"));
    let messages = artemis(&stack, &[cleared.clone(), cleared]).await;
    let table = Table::new(None).await;
    assert_eq!(table.outcome(&messages[0]).await, Outcome::Applied);
    let state = table.state("artemis#CUST-R").await;
    assert_eq!(
        table.outcome(&messages[0]).await,
        Outcome::Duplicate,
        "SQS delivered it again"
    );
    assert_eq!(
        table.outcome(&messages[1]).await,
        Outcome::Repeat,
        "Artemis sent it again"
    );
    assert_eq!(
        table.state("artemis#CUST-R").await,
        state,
        "a repeat changes no attribute"
    );
    let before = table.items().await;
    assert_eq!(table.deliver(&[&messages[1], &messages[0]]).await, Vec::<String>::new());
    assert_eq!(table.items().await, before, "redeliveries change nothing at all");
    assert_eq!(number(&state, "version"), 1);
    let outcomes: Vec<String> = before.iter().map(|i| text(i, "outcome")).collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "applied").count(), 1);
    assert_eq!(outcomes.iter().filter(|o| *o == "repeat").count(), 1);
}

#[tokio::test]
async fn an_older_event_never_overwrites_newer_state_and_is_recorded_as_stale() {
    let stack = Stack::new(false).await;
    let data = |sanctioned: bool| json!({"customerExternalID": "C-9", "sanctioned": sanctioned, "riskLevel": "HIGH"});
    let messages = amlyze(
        &stack,
        &[
            ("e-1", "2026-11-24T10:00:00Z", data(true)),
            // The same instant as e-1 (another offset): received later, so newer.
            ("e-2", "2026-11-24T11:00:00+01:00", data(false)),
            ("e-3", "2026-11-24T12:00:00Z", data(false)),
        ],
    )
    .await;
    let table = Table::new(None).await;
    // Reversed: the newest first.
    assert_eq!(
        table.deliver(&[&messages[2], &messages[1], &messages[0]]).await,
        Vec::<String>::new()
    );
    let state = table.state("amlyze#C-9").await;
    assert_eq!(text(&state, "eventId"), "e-3");
    assert_eq!(flag(&state, "sanctioned"), Some(false));
    assert_eq!(number(&state, "version"), 1, "only the newest was applied");
    let stale: Vec<String> = table
        .items()
        .await
        .iter()
        .filter(|i| text(i, "outcome") == "stale")
        .map(|i| text(i, "eventId"))
        .collect();
    assert_eq!(stale, ["e-1", "e-2"]);
    let record = table
        .items()
        .await
        .into_iter()
        .find(|i| text(i, "eventId") == "e-1" && text(i, "sk") != "state");
    let record = record.expect("e-1's record");
    assert_eq!(text(&record, "lostTo"), text(&state, "orderKey"));
    assert!(
        text(&record, "data").contains("\"sanctioned\":true"),
        "the stale event is kept whole"
    );
    // Delivered again: still one record each, nothing else.
    let before = table.items().await;
    table.deliver(&[&messages[0], &messages[1]]).await;
    assert_eq!(table.items().await, before);
}

#[tokio::test]
async fn a_flag_the_latest_event_did_not_report_keeps_its_value() {
    let stack = Stack::new(false).await;
    let messages = amlyze(
        &stack,
        &[
            (
                "f-1",
                "2026-11-24T10:00:00Z",
                json!({"customerExternalID": "C-5", "sanctioned": true}),
            ),
            (
                "f-2",
                "2026-11-24T10:05:00Z",
                json!({"customerExternalID": "C-5", "pep": false}),
            ),
        ],
    )
    .await;
    let table = Table::new(None).await;
    table.deliver(&[&messages[0], &messages[1]]).await;
    let state = table.state("amlyze#C-5").await;
    assert_eq!(flag(&state, "sanctioned"), Some(true), "absent never means false");
    assert_eq!(flag(&state, "pep"), Some(false));
    assert_eq!(number(&state, "version"), 2);
}

#[tokio::test]
async fn an_artemis_return_to_an_earlier_state_is_applied() {
    let stack = Stack::new(false).await;
    let messages = artemis(
        &stack,
        &[
            artemis_body("CUST-B", "CLEARED", Some("LOW")),
            artemis_body("CUST-B", "PENDING", None),
            artemis_body("CUST-B", "CLEARED", Some("LOW")),
        ],
    )
    .await;
    let first: serde_json::Value = messages[0].json();
    let last: serde_json::Value = messages[2].json();
    assert_eq!(first["dedupekey"], last["dedupekey"], "the vendor's key is equal");
    let table = Table::new(None).await;
    let outcomes = [
        table.outcome(&messages[0]).await,
        table.outcome(&messages[1]).await,
        table.outcome(&messages[2]).await,
    ];
    assert_eq!(outcomes, [Outcome::Applied; 3]);
    let state = table.state("artemis#CUST-B").await;
    assert_eq!(text(&state, "status"), "CLEARED");
    assert_eq!(text(&state, "riskRating"), "LOW", "set again after PENDING removed it");
    assert_eq!(number(&state, "version"), 3);
}

#[tokio::test]
async fn one_unreadable_message_fails_alone_or_goes_to_the_dead_letter_queue() {
    let stack = Stack::new(false).await;
    let mut messages = artemis(
        &stack,
        &[
            artemis_body("CUST-U", "PENDING", None),
            artemis_body("CUST-V", "CLEARED", None),
        ],
    )
    .await;
    let mut garbage = messages[0].clone();
    garbage.message_id = "garbage-1".to_owned();
    garbage.body = "{\"not\": \"an event\"".to_owned();
    messages.insert(1, garbage);
    let batch: Vec<&Received> = messages.iter().collect();

    let without = Table::new(None).await;
    assert_eq!(without.deliver(&batch).await, ["garbage-1"], "only the unreadable one");
    let states = without
        .items()
        .await
        .iter()
        .filter(|i| text(i, "sk") == "state")
        .count();
    assert_eq!(states, 2, "the others were applied");

    let client = harness::sqs::client(&Moto::shared().endpoint).await;
    let dlq = harness::sqs::create_queue(&client, "events-dlq", false).await;
    let with = Table::new(Some(&dlq)).await;
    assert_eq!(with.deliver(&batch).await, Vec::<String>::new());
    let dead = drain(&client, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, messages[1].body, "kept verbatim");
    assert!(dead[0].attributes["reason"].contains("EOF"), "{:?}", dead[0].attributes);
}

#[tokio::test]
async fn on_a_fifo_queue_a_failure_holds_back_the_rest_of_its_group() {
    let stack = Stack::new(true).await;
    let messages = artemis(
        &stack,
        &[
            artemis_body("CUST-G", "PENDING", None),
            artemis_body("CUST-H", "CLEARED", None),
        ],
    )
    .await;
    let mut broken = messages[0].clone();
    broken.message_id = "broken-1".to_owned();
    broken.body = "not json".to_owned();
    let mut later = messages[0].clone();
    later.message_id = "later-1".to_owned();
    let table = Table::new(None).await;
    let failed = table.deliver(&[&broken, &later, &messages[1]]).await;
    assert_eq!(failed, ["broken-1", "later-1"], "the other group went on");
}

#[tokio::test]
async fn other_event_types_change_no_state() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);
    let call = Call::post("/hooks/amlyze", r#"{"caseId": 7}"#)
        .header("ce-specversion", "1.0")
        .header("ce-id", "o-1")
        .header("ce-source", "https://amlyze.example")
        .header("ce-type", "com.amlyze.case.opened");
    assert_eq!(send(&app, &call, FrontDoor::HttpV2).await.status, 202);
    let messages = drain(&stack.client, &stack.queue).await;
    let table = Table::new(None).await;
    assert_eq!(table.outcome(&messages[0]).await, Outcome::Ignored);
    assert!(table.items().await.is_empty(), "not even a record");
}

#[tokio::test]
async fn a_deployments_probe_changes_no_state() {
    // What `make verify` sends (tools/deploy/src/verify.rs): an Artemis action
    // PROBE and an Amlyze type of ours, both about no customer.
    let stack = Stack::new(false).await;
    let mut probe = artemis_body(intake_queue::PROBE_SUBJECT, "PENDING", None);
    probe["action"] = json!("PROBE");
    let mut messages = artemis(&stack, &[probe]).await;
    let call = Call::post("/hooks/amlyze", r#"{"probe": true}"#)
        .header("ce-specversion", "1.0")
        .header("ce-id", "probe-1")
        .header("ce-source", "webhook-intake-verify")
        .header("ce-subject", intake_queue::PROBE_SUBJECT)
        .header("ce-type", "com.webhook-intake.probe");
    let app = stack.app(Provider::Amlyze, &[]);
    assert_eq!(send(&app, &call, FrontDoor::RestV1).await.status, 202);
    messages.extend(drain(&stack.client, &stack.queue).await);
    assert_eq!(messages.len(), 2);
    let table = Table::new(None).await;
    for message in &messages {
        let event = intake_queue::Event::from_json(&message.body).unwrap();
        assert!(event.is_probe(), "{}", message.body);
        assert_eq!(table.outcome(message).await, Outcome::Ignored, "{}", message.body);
    }
    assert!(table.items().await.is_empty(), "not even a record");
    // An event of a real action is no probe.
    let real = artemis(&stack, &[artemis_body("CUST-P", "PENDING", None)]).await;
    assert!(!intake_queue::Event::from_json(&real[0].body).unwrap().is_probe());
}

/// A small deterministic generator (no extra crate for shuffling).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

#[tokio::test]
async fn shuffled_redelivered_batches_end_in_the_newest_state_with_no_double_apply() {
    let stack = Stack::new(false).await;
    // Four customers, five updates each, at increasing times.
    let mut events = Vec::new();
    for customer in 0..4 {
        for step in 0..5 {
            let id = format!("s-{customer}-{step}");
            let time = format!("2026-11-24T10:{:02}:00Z", step * 7 + customer);
            let data = json!({"customerExternalID": format!("C-{customer}"), "sanctioned": step % 2 == 0, "riskLevel": format!("LEVEL_{step}")});
            events.push((id, time, data));
        }
    }
    let refs: Vec<(&str, &str, serde_json::Value)> = events
        .iter()
        .map(|(i, t, d)| (i.as_str(), t.as_str(), d.clone()))
        .collect();
    let messages = amlyze(&stack, &refs).await;
    assert_eq!(messages.len(), 20);

    let endpoint = &Moto::shared().endpoint;
    let topic = Topic::create(endpoint, "transitions", false).await;
    let subscriber = topic.subscribe_queue("all-transitions", None, true).await;
    let table = Table::new(None).await.publishing(Some(&topic), None);
    let mut rng = Lcg(0x5eed);
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    // 60 deliveries: every message at least once, in a shuffled order, many twice or more.
    let mut deliveries: Vec<&Received> = messages.iter().chain(messages.iter()).collect();
    deliveries.extend((0..20).map(|_| &messages[rng.next(20)]));
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, rng.next(i + 1));
    }
    for message in &deliveries {
        let outcome = table.outcome(message).await;
        *counts.entry(outcome.name()).or_default() += 1;
        if outcome == Outcome::Applied {
            *applied
                .entry(message.json()["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(applied.values().all(|n| *n == 1), "an event applied twice: {applied:?}");
    for customer in 0..4 {
        let state = table.state(&format!("amlyze#C-{customer}")).await;
        assert_eq!(
            text(&state, "eventId"),
            format!("s-{customer}-4"),
            "the newest event won"
        );
        assert_eq!(text(&state, "riskLevel"), "LEVEL_4");
        let version = number(&state, "version") as usize;
        let applied_here = applied
            .keys()
            .filter(|id| id.starts_with(&format!("s-{customer}-")))
            .count();
        assert_eq!(version, applied_here, "version counts the applied events");
    }
    let items = table.items().await;
    let recorded = |outcome: &str| items.iter().filter(|i| text(i, "outcome") == outcome).count();
    assert_eq!(recorded("applied"), applied.len(), "one record per applied event");
    assert_eq!(
        recorded("applied") + recorded("stale"),
        20,
        "every event recorded once: {counts:?}"
    );
    assert_eq!(
        counts.get("stale").copied().unwrap_or(0),
        recorded("stale"),
        "stale once each, then duplicates"
    );

    // One transition per applied event (every event here changes the
    // state), none for the stale ones or the redeliveries, each valid.
    let delivered = topic.drain(&subscriber).await;
    for message in &delivered {
        assert_eq!(Validator::get().transition(&message.body), Ok(()), "{}", message.body);
    }
    let transitions: Vec<Transition> = delivered.iter().map(Delivered::transition).collect();
    let mut ids: Vec<&str> = transitions.iter().map(|t| t.event_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        applied.keys().map(String::as_str).collect::<Vec<_>>(),
        "one transition per applied event"
    );
    // Per customer, the versions 1..n and a chain: each change's `old` is
    // the state the transition before left; the last one's state is stored.
    for customer in 0..4 {
        let subject = format!("C-{customer}");
        let mut chain: Vec<&Transition> = transitions.iter().filter(|t| t.subject == subject).collect();
        chain.sort_by_key(|t| t.version);
        assert_eq!(
            chain.iter().map(|t| t.version).collect::<Vec<_>>(),
            (1..=chain.len() as u64).collect::<Vec<_>>()
        );
        let mut previous = serde_json::Map::new();
        for t in &chain {
            for change in &t.changes {
                assert_eq!(
                    previous.get(&change.field).cloned().unwrap_or(serde_json::Value::Null),
                    change.old,
                    "{subject} v{}: {} did not start where the last transition left it",
                    t.version,
                    change.field
                );
                assert_eq!(
                    t.state.get(&change.field).cloned().unwrap_or(serde_json::Value::Null),
                    change.new
                );
            }
            previous = t.state.clone();
        }
        let stored = table.state(&format!("amlyze#{subject}")).await;
        assert_eq!(
            previous.get("riskLevel").and_then(|v| v.as_str()),
            Some(text(&stored, "riskLevel").as_str())
        );
        assert_eq!(
            previous.get("sanctioned").and_then(|v| v.as_bool()),
            flag(&stored, "sanctioned")
        );
    }
    println!(
        "60 shuffled deliveries of 20 events: {counts:?}; 0 double-applied, 0 stale overwrites, {} transitions (0 lost, 0 twice)",
        transitions.len()
    );
}

/// The built binary under the Runtime API emulator, with Lambda's memory: a
/// batch as the SQS event source mapping sends it (JSON), with a redelivery,
/// the newest event first and one unreadable body.
#[tokio::test]
async fn the_built_function_handles_a_batch_end_to_end() {
    use harness::emulator::{invoke_json, RuntimeApi};
    use harness::function::json_log_env;
    use harness::function::{assert_log_records_fit, function_binary, Function};

    let stack = Stack::new(false).await;
    let data = |risk: &str| json!({"customerExternalID": "C-E2E", "riskLevel": risk});
    let messages = amlyze(
        &stack,
        &[
            ("x-1", "2026-11-24T10:00:00Z", data("LOW")),
            ("x-2", "2026-11-24T10:01:00Z", data("HIGH")),
        ],
    )
    .await;
    let mut garbage = messages[0].clone();
    garbage.message_id = "garbage-e2e".to_owned();
    garbage.body = "\u{1}".to_owned();
    let endpoint = &Moto::shared().endpoint;
    let client = dynamodb(endpoint).await;
    let table = create_table(&client, "e2e-state").await;

    let topic = Topic::create(endpoint, "e2e-transitions", false).await;
    let subscriber = topic.subscribe_queue("e2e-transitions", None, true).await;

    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!("e2e-customer-state-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let env = json_log_env(endpoint)
        .into_iter()
        .chain([
            ("TABLE_NAME".to_owned(), table.clone()),
            ("TRANSITIONS_TOPIC_ARN".to_owned(), topic.arn.clone()),
        ])
        .collect::<Vec<_>>();
    let binary = function_binary("customer-state");
    let _function = Function::spawn(&binary, &api, "customer-state", &env, Some(&log)).unwrap();
    let batch = [messages[1].clone(), garbage, messages[0].clone(), messages[1].clone()];
    let answer = invoke_json(&api, &serde_json::to_value(sqs_event(&batch)).unwrap()).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "garbage-e2e"}]),
        "{answer}"
    );
    // The whole batch again, as SQS would redeliver it after a timeout: nothing changes.
    let before = scan(&client, &table).await;
    let again = invoke_json(&api, &serde_json::to_value(sqs_event(&batch)).unwrap()).await;
    assert_eq!(again["batchItemFailures"], json!([{"itemIdentifier": "garbage-e2e"}]));
    assert_eq!(scan(&client, &table).await, before);
    let state = before.iter().find(|i| text(i, "sk") == "state").expect("a state item");
    assert_eq!(text(state, "eventId"), "x-2");
    assert_eq!(text(state, "riskLevel"), "HIGH");
    assert_eq!(number(state, "version"), 1);
    assert!(before
        .iter()
        .any(|i| text(i, "eventId") == "x-1" && text(i, "outcome") == "stale"));
    // One transition, from the newest event; none from the stale one or the redeliveries.
    let transitions: Vec<Transition> = topic
        .drain(&subscriber)
        .await
        .iter()
        .map(Delivered::transition)
        .collect();
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    assert_eq!((transitions[0].event_id.as_str(), transitions[0].version), ("x-2", 1));
    assert_eq!(transitions[0].state["riskLevel"], "HIGH");
    assert_log_records_fit(&log);
}

/// The filter policies docs/consuming.md shows (`json filter-policy=NAME` blocks).
fn documented_policy(name: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/consuming.md")).unwrap();
    let fence = format!("```json filter-policy={name}\n");
    let start = doc
        .find(&fence)
        .unwrap_or_else(|| panic!("docs/consuming.md shows no policy {name}"))
        + fence.len();
    let policy = &doc[start..start + doc[start..].find("```").unwrap()];
    serde_json::from_str::<serde_json::Value>(policy).expect("the documented policy is JSON");
    policy.trim().to_owned()
}

/// Amlyze and Artemis events whose transitions are: a new Amlyze customer
/// (sanctioned false, risk LOW), sanctioned, risk HIGH, screening status
/// only; a new Artemis customer without risk, its risk rated; all applied in
/// order by `table`. The transitions' changed fields, Amlyze's then Artemis's.
async fn routing_fixture(table: &Table) -> Vec<Vec<&'static str>> {
    let stack = Stack::new(false).await;
    let data = |sanctioned: bool, risk: &str, status: &str| json!({"customerExternalID": "C-ROUTE", "sanctioned": sanctioned, "riskLevel": risk, "status": status});
    let mut messages = amlyze(
        &stack,
        &[
            ("r-1", "2026-11-24T10:00:00Z", data(false, "LOW", "CLEAR")),
            ("r-2", "2026-11-24T10:01:00Z", data(true, "LOW", "CLEAR")),
            ("r-3", "2026-11-24T10:02:00Z", data(true, "HIGH", "CLEAR")),
            ("r-4", "2026-11-24T10:03:00Z", data(true, "HIGH", "REVIEW")),
        ],
    )
    .await;
    messages.extend(
        artemis(
            &stack,
            &[
                artemis_body("CUST-ROUTE", "PENDING", None),
                artemis_body("CUST-ROUTE", "PENDING", Some("LOW")),
            ],
        )
        .await,
    );
    for message in &messages {
        assert_eq!(table.outcome(message).await, Outcome::Applied, "{}", message.body);
    }
    vec![
        vec!["sanctioned", "riskLevel", "screeningStatus"],
        vec!["sanctioned"],
        vec!["riskLevel"],
        vec!["screeningStatus"],
        vec!["status", "customerType", "customerId"],
        vec!["riskRating"],
    ]
}

fn changed(delivered: &[Delivered]) -> Vec<Vec<String>> {
    let mut changed: Vec<(String, u64, Vec<String>)> = delivered
        .iter()
        .map(Delivered::transition)
        .map(|t| {
            (
                t.vendor.clone(),
                t.version,
                t.changes.into_iter().map(|c| c.field).collect(),
            )
        })
        .collect();
    changed.sort();
    changed.into_iter().map(|(_, _, fields)| fields).collect()
}

#[tokio::test]
async fn the_documented_filter_policies_filter() {
    let endpoint = &Moto::shared().endpoint;
    let topic = Topic::create(endpoint, "transitions", false).await;
    let alerts = Topic::create(endpoint, "alerts", false).await;
    let everything = topic.subscribe_queue("everything", None, true).await;
    let risk = topic
        .subscribe_queue("risk", Some(&documented_policy("risk-changes")), true)
        .await;
    let hits = topic
        .subscribe_queue("hits", Some(&documented_policy("sanctions-hits")), true)
        .await;
    // The email example subscribes to the alert topic: a queue stands in for the inbox.
    let inbox = alerts
        .subscribe_queue("inbox", Some(&documented_policy("sanctions-hits")), false)
        .await;
    let table = Table::new(None).await.publishing(Some(&topic), Some(&alerts));
    let expected = routing_fixture(&table).await;

    let all = topic.drain(&everything).await;
    assert_eq!(all.len(), expected.len(), "one transition per change");
    assert_eq!(
        changed(&all),
        expected,
        "Amlyze's, then Artemis's, each in version order"
    );
    for message in &all {
        let t = message.transition();
        assert_eq!(
            message.attributes.get("vendor"),
            Some(&t.vendor),
            "{:?}",
            message.attributes
        );
        let names: Vec<String> = serde_json::from_str(&message.attributes["changed"]).unwrap();
        assert_eq!(names, t.changes.iter().map(|c| c.field.clone()).collect::<Vec<_>>());
    }

    let risk = changed(&topic.drain(&risk).await);
    assert_eq!(
        risk,
        [
            vec!["sanctioned", "riskLevel", "screeningStatus"],
            vec!["riskLevel"],
            vec!["riskRating"],
        ],
        "only the risk changes"
    );
    let hits = topic.drain(&hits).await;
    assert_eq!(changed(&hits), [vec!["sanctioned"]], "only the sanctions hit");
    assert_eq!(
        hits[0].attributes.get("alert").map(String::as_str),
        Some(r#"["sanctioned"]"#)
    );

    // The alert topic: one text, the one sanctions hit (risk HIGH is not
    // Amlyze's alert level, EXTREME), with a subject and no vendor data.
    let inbox = alerts.drain(&inbox).await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let envelope: serde_json::Value = serde_json::from_str(&inbox[0].body).unwrap();
    assert_eq!(envelope["Subject"], "KYC/AML alert: amlyze customer became sanctioned");
    let text = envelope["Message"].as_str().unwrap();
    assert!(text.contains("amlyze customer C-ROUTE became sanctioned."), "{text}");
    assert!(text.contains("sanctioned: false -> true"), "{text}");
    assert!(text.contains("make history SUBJECT=C-ROUTE"), "{text}");
    assert!(
        !text.contains("customerExternalID") && !text.contains("CLEAR"),
        "no vendor data: {text}"
    );
}

#[tokio::test]
async fn a_fifo_topic_keeps_each_customers_order_and_drops_a_copy() {
    let endpoint = &Moto::shared().endpoint;
    let topic = Topic::create(endpoint, "transitions", true).await;
    let queue = topic.subscribe_queue("ordered", None, true).await;
    let table = Table::new(None).await.publishing(Some(&topic), None);
    let expected = routing_fixture(&table).await;
    // The first transition published again, as a consumer that failed after
    // publishing does, from the event's record (the outbox): the topic drops
    // the copy, its deduplication id being the transition's id. (Before the
    // queue is read: moto remembers deduplication ids only of messages it
    // still holds; SQS and SNS, for five minutes.)
    let record = table
        .items()
        .await
        .into_iter()
        .find(|i| text(i, "eventId") == "r-1" && text(i, "sk") != "state")
        .expect("r-1's record");
    let again = Transition::from_json(&text(&record, "transition")).expect("the record keeps the transition");
    table
        .consumer
        .topics
        .publish(&again, customer_state::state::Delivery::Topic)
        .await
        .expect("published");
    let delivered = topic.drain(&queue).await;
    assert_eq!(delivered.len(), expected.len(), "one copy of each");
    assert_eq!(delivered[0].transition(), again);
    let in_order = |vendor: &str| -> Vec<u64> {
        delivered
            .iter()
            .map(Delivered::transition)
            .filter(|t| t.vendor == vendor)
            .map(|t| t.version)
            .collect()
    };
    assert_eq!(in_order("amlyze"), [1, 2, 3, 4], "one customer's transitions in order");
    assert_eq!(in_order("artemis"), [1, 2]);
}

#[tokio::test]
async fn a_failed_publish_is_published_once_by_the_redelivery() {
    let stack = Stack::new(false).await;
    let messages = amlyze(
        &stack,
        &[(
            "p-1",
            "2026-11-24T10:00:00Z",
            json!({"customerExternalID": "C-PUB", "pep": true, "riskLevel": "EXTREME"}),
        )],
    )
    .await;
    let endpoint = &Moto::shared().endpoint;
    let topic = Topic::create(endpoint, "transitions", false).await;
    let alerts = Topic::create(endpoint, "alerts", false).await;
    let queue = topic.subscribe_queue("once", None, true).await;
    let inbox = alerts.subscribe_queue("inbox", None, true).await;
    let missing = format!("{}-missing", topic.arn);
    let mut table = Table::new(None).await.publishing(None, Some(&alerts));
    table.consumer.topics.transitions = Some(missing);
    let owned = [messages[0].clone()];
    let event = sqs_event(&owned);
    match table.consumer.process(&event.records[0]).await {
        Err(Failure::Publish(error)) => assert!(error.contains("missing"), "{error}"),
        other => panic!("the publish to a missing topic must fail the message: {other:?}"),
    }
    assert_eq!(
        table.deliver(&[&messages[0]]).await,
        [messages[0].message_id.clone()],
        "reported failed, for SQS to deliver again"
    );
    let state = table.state("amlyze#C-PUB").await;
    assert_eq!(number(&state, "version"), 1, "the state changed once");

    assert!(
        alerts.drain(&inbox).await.is_empty(),
        "the alert waits for the transition"
    );
    // SQS delivers it again; now the topic is there.
    let table = table.publishing(Some(&topic), Some(&alerts));
    assert_eq!(table.outcome(&messages[0]).await, Outcome::Duplicate);
    let published = topic.drain(&queue).await;
    assert_eq!(published.len(), 1);
    let transition = published[0].transition();
    assert_eq!((transition.event_id.as_str(), transition.version), ("p-1", 1));
    assert_eq!(transition.alerts.len(), 2, "{transition:?}");
    assert_eq!(alerts.drain(&inbox).await.len(), 1, "the alert too, once");
    // And again: nothing left to publish.
    assert_eq!(table.outcome(&messages[0]).await, Outcome::Duplicate);
    assert!(topic.drain(&queue).await.is_empty());
    assert!(alerts.drain(&inbox).await.is_empty());
    assert_eq!(table.state("amlyze#C-PUB").await, state, "still one state change");
}

#[tokio::test]
async fn extreme_values_still_publish_a_transition_sns_and_sqs_take() {
    let stack = Stack::new(false).await;
    let long = "R\u{1}\u{FFFE}".repeat(20_000);
    let messages = amlyze(
        &stack,
        &[(
            "big-1",
            "9999-12-31T23:59:59.999999999-23:59",
            json!({"customerExternalID": "C-BIG", "riskLevel": long, "status": "\u{7}", "sanctioned": true}),
        )],
    )
    .await;
    let endpoint = &Moto::shared().endpoint;
    let topic = Topic::create(endpoint, "transitions", false).await;
    let alerts = Topic::create(endpoint, "alerts", false).await;
    let queue = topic.subscribe_queue("big", None, true).await;
    let inbox = alerts.subscribe_queue("inbox", None, false).await;
    let table = Table::new(None).await.publishing(Some(&topic), Some(&alerts));
    assert_eq!(table.outcome(&messages[0]).await, Outcome::Applied);
    let published = topic.drain(&queue).await;
    assert_eq!(published.len(), 1);
    let message = &published[0];
    let size = message.body.len()
        + message
            .attributes
            .iter()
            .map(|(n, v)| n.len() + v.len() + 12)
            .sum::<usize>();
    assert!(size <= customer_state::publish::MAX_MESSAGE_BYTES, "{size} bytes");
    for text in std::iter::once(&message.body).chain(message.attributes.values()) {
        assert!(
            text.chars().all(platform::sqs::is_sqs_char),
            "SQS would refuse {text:?}"
        );
    }
    assert_eq!(Validator::get().transition(&message.body), Ok(()));
    let t = message.transition();
    let risk = t.state["riskLevel"].as_str().unwrap();
    assert!(
        risk.len() <= customer_state::transition::MAX_VALUE_BYTES + 3 && risk.ends_with('…'),
        "{}",
        risk.len()
    );
    assert!(message.attributes["risk"].starts_with("sha256:"));
    let alert = alerts.drain(&inbox).await;
    assert_eq!(alert.len(), 1);
    assert!(alert[0].body.chars().all(platform::sqs::is_sqs_char));
    assert!(alert[0].body.len() < 64 * 1024, "{}", alert[0].body.len());
}
