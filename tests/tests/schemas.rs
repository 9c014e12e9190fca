//! The queue as a product: the committed JSON Schemas are the ones the types
//! generate, they refuse what the intake never writes, and every accepted
//! fixture's message reads into the typed [`intake_queue::Event`] and back to
//! the same JSON. (Every message any test queues is checked against the
//! schemas as it is sent: `harness::schemas`.)

use harness::invariant::{self, Setup, QUARANTINE, QUEUE};
use harness::manifest;
use harness::schemas::check_body;
use harness::stack::Stack;
use intake_queue::schema::{self, Validator};
use intake_queue::{Event, QuarantineRecord};
use serde_json::{json, Value};

#[test]
fn committed_schemas_are_the_generated_ones() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut stale = Vec::new();
    for (name, generated) in schema::files() {
        let committed = std::fs::read_to_string(folder.join(name)).unwrap_or_default();
        if committed != schema::to_text(&generated) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/{stale:?} differ from the types: run `make schemas` and commit"
    );
    let on_disk = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(
        on_disk,
        schema::files().len(),
        "a file in schemas/ that no type generates"
    );
}

/// What each accepted fixture puts on the queue, and each refused one in quarantine.
async fn fixture_messages() -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut all = Vec::new();
    for fixture in manifest::load() {
        let setup = Setup {
            provider: fixture.provider(),
            fifo: false,
            allowlist: None,
            secret: false,
            sick_region: false,
        };
        let app = invariant::app(&setup);
        harness::invoke(&app, &fixture.event()).await;
        let queues = app.publisher.queues();
        assert_eq!(queues.violations(), Vec::<String>::new(), "{}", fixture.file);
        let bodies = |queue| queues.take(queue).into_iter().map(|m| m.body).collect::<Vec<_>>();
        all.push((fixture.file.clone(), bodies(QUEUE), bodies(QUARANTINE)));
    }
    all
}

#[tokio::test]
async fn every_fixture_message_reads_into_the_typed_event_and_back_exactly() {
    let mut typed = [0; 3];
    for (file, queued, kept) in fixture_messages().await {
        for body in &queued {
            let sent: Value = serde_json::from_str(body).unwrap();
            let event = Event::from_json(body).unwrap_or_else(|e| panic!("{file}: {e}"));
            let expected = match (sent["provider"].as_str(), sent["type"].as_str()) {
                (Some("artemis"), Some(kind)) if kind.starts_with("co.cynopsis.artemis.customer.") => 0,
                (Some("amlyze"), Some("com.amlyze.customer.updated")) => 1,
                _ => 2,
            };
            let variant = match &event {
                Event::Artemis(e) => {
                    assert_eq!(sent["data"]["customerId"].as_u64(), Some(e.data.customer_id), "{file}");
                    0
                }
                Event::AmlyzeCustomerUpdated(e) => {
                    assert_eq!(sent["data"]["sanctioned"].as_bool(), e.data.sanctioned, "{file}");
                    1
                }
                Event::Other(_) => 2,
            };
            assert_eq!(variant, expected, "{file}: the typed variant");
            typed[variant] += 1;
            assert_eq!(serde_json::to_value(&event).unwrap(), sent, "{file}: the round trip");
            assert_eq!(event.attributes().id, sent["id"], "{file}");
        }
        for body in &kept {
            let record: QuarantineRecord = serde_json::from_str(body).unwrap_or_else(|e| panic!("{file}: {e}"));
            let sent: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                serde_json::to_value(&record).unwrap(),
                sent,
                "{file}: the record's round trip"
            );
        }
    }
    assert!(
        typed[0] > 0 && typed[1] > 0 && typed[2] > 0,
        "fixtures of every variant: {typed:?}"
    );
}

#[tokio::test]
async fn unknown_enum_values_stay_visible_and_verbatim() {
    let (_, queued, _) = fixture_messages()
        .await
        .into_iter()
        .find(|(file, _, _)| file.contains("unknown-enum"))
        .expect("a fixture with an unknown enum value");
    let event = Event::from_json(&queued[0]).unwrap();
    let unknown = event.unknown_enum_fields();
    assert!(!unknown.is_empty(), "{event:?}");
    let sent: Value = serde_json::from_str(&queued[0]).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap()["data"], sent["data"]);
}

/// A change to an event.
type Change = Box<dyn FnOnce(&mut Value)>;

/// A valid event, changed by `change`, checked against the event schema.
fn event_with(change: impl FnOnce(&mut Value)) -> Result<(), Vec<String>> {
    let mut event = json!({
        "specversion": "1.0", "id": "e-1", "source": "artemis", "type": "co.cynopsis.artemis.customer.update",
        "subject": "CUST-1", "time": "2026-11-24T10:00:00Z", "datacontenttype": "application/json",
        "data": {
            "customerId": 18446744073709551615_u64, "customerReferenceId": "CUST-1", "profileReferenceId": "P-1",
            "status": "CLEARED", "riskRating": null, "action": "UPDATE", "message": null,
            "customerType": "INDIVIDUAL", "addedLater": {"x": 1}
        },
        "provider": "artemis", "dedupekey": "k", "receivedtime": "2026-11-24T10:00:00Z", "traceparent": "00-1"
    });
    change(&mut event);
    Validator::get().event(&event.to_string())
}

#[test]
fn the_event_schema_refuses_what_the_intake_never_writes() {
    assert_eq!(event_with(|_| ()), Ok(()));
    assert_eq!(
        event_with(|e| e["data"]["status"] = json!("A_NEW_STATUS")),
        Ok(()),
        "open enums"
    );
    let refused: Vec<(&str, Change)> = vec![
        (
            "no dedupekey",
            Box::new(|e| drop(e.as_object_mut().unwrap().remove("dedupekey"))),
        ),
        ("specversion 0.3", Box::new(|e| e["specversion"] = json!("0.3"))),
        ("a null subject", Box::new(|e| e["subject"] = Value::Null)),
        (
            "an unknown provider",
            Box::new(|e| e["provider"] = json!("not-a-vendor")),
        ),
        (
            "a negative customerId",
            Box::new(|e| e["data"]["customerId"] = json!(-1)),
        ),
        ("customerId as text", Box::new(|e| e["data"]["customerId"] = json!("1"))),
        ("status null", Box::new(|e| e["data"]["status"] = Value::Null)),
        (
            "riskRating left out",
            Box::new(|e| drop(e["data"].as_object_mut().unwrap().remove("riskRating"))),
        ),
        ("no data", Box::new(|e| drop(e.as_object_mut().unwrap().remove("data")))),
        (
            "amlyze data under an artemis type",
            Box::new(|e| e["data"] = json!({"customerExternalID": "c"})),
        ),
        (
            "a string flag in customer.updated",
            Box::new(|e| {
                e["provider"] = json!("amlyze");
                e["type"] = json!("com.amlyze.customer.updated");
                e["data"] = json!({
                    "customerExternalID": "c", "sanctioned": "yes", "pep": null, "inAdverseMedia": null,
                    "inInternalList": null, "riskLevel": null, "status": null, "updatedAt": null
                });
            }),
        ),
    ];
    for (what, change) in refused {
        assert!(event_with(change).is_err(), "{what} passed the schema");
    }
    // Other types keep whatever data they came with.
    assert_eq!(
        event_with(|e| {
            e["provider"] = json!("amlyze");
            e["type"] = json!("com.amlyze.case.opened");
            e["data"] = json!(["any", 1]);
        }),
        Ok(())
    );
}

#[test]
fn quarantine_records_are_checked_too() {
    let record = json!({
        "provider": "artemis", "receivedtime": "2026-11-24T10:00:00Z", "requestId": "r", "status": 400,
        "reason": "invalid-event", "errors": [{"field": "status", "message": "is required"}],
        "method": "POST", "path": "/hooks/artemis", "query": {}, "sourceIp": null, "headers": {}, "body": "{}"
    });
    assert_eq!(check_body("https://q/quarantine-1", &record.to_string()), Ok(()));
    let mut broken = record.clone();
    broken.as_object_mut().unwrap().remove("body");
    assert!(check_body("https://q/quarantine-1", &broken.to_string()).is_err());
    assert!(
        check_body("https://q/events-1", &record.to_string()).is_err(),
        "a record is not an event"
    );
    assert_eq!(
        check_body("https://q/events-dlq", "not json"),
        Ok(()),
        "dead-letter queues hold anything"
    );
}

#[tokio::test]
async fn the_strict_layer_refuses_a_body_that_breaks_the_schema() {
    let stack = Stack::new(false).await;
    let refused = stack
        .client
        .send_message()
        .queue_url(&stack.queue)
        .message_body(r#"{"specversion":"1.0"}"#)
        .send()
        .await;
    assert!(refused.is_err(), "refused like a message SQS would refuse");
    let recorded = harness::faults::violations_for(&stack.queue);
    assert!(recorded[0].what.contains("JSON Schema"), "{recorded:?}");
}

#[tokio::test]
async fn the_python_reader_validates_every_fixture_message_against_the_schema() {
    let stack = Stack::new(false).await;
    let mut queued = 0;
    for fixture in manifest::load() {
        let app = stack.app(fixture.provider(), &[]);
        harness::invoke(&app, &fixture.event()).await;
        queued += fixture.queued;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let run = |queue: &str| {
        let output = std::process::Command::new("python3")
            .arg(root.join("examples/python/reader.py"))
            .arg(queue)
            .arg(root.join("schemas/event.schema.json"))
            .env("AWS_ENDPOINT_URL", &harness::Moto::shared().raw_endpoint)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .expect("python3 examples/python/reader.py");
        let summary: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code(), summary)
    };
    let (code, summary) = run(&stack.queue);
    assert_eq!(code, Some(0), "{summary}");
    let read: u64 = summary["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(read as usize, queued, "{summary}");
    let customers = summary["customers"].as_object().unwrap().len();
    assert!(
        customers > 0 && summary["outcomes"]["applied"].as_u64() >= Some(customers as u64),
        "{summary}"
    );

    // A body that breaks the schema (put there past the strict layer) is named, not applied.
    let raw = harness::sqs::client(&harness::Moto::shared().raw_endpoint).await;
    raw.send_message()
        .queue_url(&stack.queue)
        .message_body(r#"{"specversion":"1.0","id":"x"}"#)
        .send()
        .await
        .unwrap();
    let (code, summary) = run(&stack.queue);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(summary["invalid"].as_array().unwrap().len(), 1, "{summary}");
}

#[test]
fn the_transition_schema_refuses_what_the_consumer_never_writes() {
    let transition = json!({
        "id": "a".repeat(64), "vendor": "amlyze", "subject": "C-1", "eventId": "e-1",
        "eventType": "com.amlyze.customer.updated", "eventTime": "2026-11-24T10:00:00Z",
        "receivedTime": "2026-11-24T10:00:01Z", "appliedAt": "2026-11-24T10:00:02Z", "version": 1,
        "changes": [{"field": "sanctioned", "old": null, "new": true}],
        "state": {"sanctioned": true}, "alerts": ["sanctioned"]
    });
    let check = |t: &Value| Validator::get().transition(&t.to_string());
    assert_eq!(check(&transition), Ok(()));
    let typed = intake_queue::Transition::from_json(&transition.to_string()).expect("the type reads it");
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        transition,
        "and writes it back the same"
    );
    type Break = fn(&mut Value);
    let broken: [(&str, Break); 6] = [
        ("no id", |t| drop(t.as_object_mut().unwrap().remove("id"))),
        ("an id that is no digest", |t| t["id"] = json!("not-hex")),
        ("an unknown vendor", |t| t["vendor"] = json!("acme")),
        ("no change", |t| t["changes"] = json!([])),
        ("version 0", |t| t["version"] = json!(0)),
        ("an alert this build does not make", |t| {
            t["alerts"] = json!(["criticalRisk"])
        }),
    ];
    for (what, change) in broken {
        let mut t = transition.clone();
        change(&mut t);
        assert!(check(&t).is_err(), "{what} passed: {t}");
    }
}
