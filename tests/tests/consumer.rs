//! The reference consumer (functions/customer-state) against moto's SQS and
//! DynamoDB: real intake messages, delivered again, out of order, in mixed
//! batches, must leave exactly the newest state per customer, each event
//! applied at most once, every stale event recorded.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use customer_state::state::Outcome;
use harness::consumer::{self, create_table, dynamodb, scan, sqs_event, text};
use harness::sqs::{drain, Received};
use harness::stack::{send, Stack};
use harness::{Call, FrontDoor, Moto};
use intake::Provider;
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

    let table = Table::new(None).await;
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
    println!("60 shuffled deliveries of 20 events: {counts:?}; 0 double-applied, 0 stale overwrites");
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

    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!("e2e-customer-state-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let env = json_log_env(endpoint)
        .into_iter()
        .chain([("TABLE_NAME".to_owned(), table.clone())])
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
    assert_log_records_fit(&log);
}
