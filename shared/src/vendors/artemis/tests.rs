//! Artemis's rules: the vendor's examples, every problem listed, exact ids.

use super::*;
use intake_queue::artemis::{CustomerStatus, RiskRating};
use time::macros::datetime;

const INSERT: &str = include_str!("../../../../events/bodies/artemis-insert.json");
const UPDATE: &str = include_str!("../../../../events/bodies/artemis-update.json");
const NOW: OffsetDateTime = datetime!(2026-11-23 10:00:00.5 UTC);

fn event(body: &str) -> CloudEvent {
    parse(body.as_bytes(), NOW, "req-1").unwrap().events.remove(0)
}

#[test]
fn insert_example_normalizes_to_the_contract_envelope() {
    let event = event(INSERT);
    assert_eq!(event.specversion, "1.0");
    assert_eq!(event.source, "artemis");
    assert_eq!(event.kind, "co.cynopsis.artemis.customer.insert");
    assert_eq!(event.subject.as_deref(), Some("CUST-000123"));
    assert_eq!(event.time, "2026-11-23T10:00:00.5Z");
    assert_eq!(event.receivedtime, event.time);
    assert_eq!(event.datacontenttype, "application/json");
    assert_eq!(event.provider, "artemis");
    assert_eq!(event.dedupekey.len(), 64);
    let data = event.data.unwrap();
    let expected: Value = serde_json::from_str(INSERT).unwrap();
    assert_eq!(data, expected, "every documented field, as sent");
}

#[test]
fn update_example_keeps_nulls_and_types() {
    let event = event(UPDATE);
    assert_eq!(event.kind, "co.cynopsis.artemis.customer.update");
    let data = event.data.unwrap();
    assert_eq!(data["status"], "CLEARED");
    assert!(data.as_object().unwrap().contains_key("message"));
}

#[test]
fn ids_are_per_delivery_and_the_dedupe_key_is_the_vendors() {
    // Regression: the id came from the dedupe key, so a
    // return to an earlier state within five minutes was dropped by FIFO.
    let first = event(UPDATE);
    let replay = parse(UPDATE.as_bytes(), NOW + time::Duration::hours(1), "req-1")
        .unwrap()
        .events
        .remove(0);
    assert_eq!(first.id, replay.id, "the same delivery replayed keeps its id");
    let second = parse(UPDATE.as_bytes(), NOW, "req-2").unwrap().events.remove(0);
    assert_ne!(
        first.id, second.id,
        "another delivery of an equal body is another event"
    );
    assert_eq!(
        first.dedupekey, second.dedupekey,
        "the vendor's key: equal for a repeat"
    );
    // The key ignores field order, whitespace and the message.
    let mut reordered: Map<String, Value> = serde_json::from_str(UPDATE).unwrap();
    let status = reordered.remove("status").unwrap();
    reordered.insert("status".into(), status);
    let reordered = event(&serde_json::to_string_pretty(&reordered).unwrap());
    assert_eq!(first.dedupekey, reordered.dedupekey);
    let changed = event(&UPDATE.replace("CLEARED", "REJECTED"));
    assert_ne!(first.dedupekey, changed.dedupekey);
    let message_only = event(&UPDATE.replace("\"message\": null", "\"message\": \"note\""));
    assert_eq!(
        first.dedupekey, message_only.dedupekey,
        "message is not part of the dedupe key"
    );
}

#[test]
fn customer_id_beyond_2_pow_53_stays_exact() {
    let body = INSERT.replace("123456", "9007199254740993");
    let event = event(&body);
    assert!(event_body(&event).contains("\"customerId\":9007199254740993"));
    let max = INSERT.replace("123456", "18446744073709551615");
    assert!(event_body(&self::event(&max)).contains("18446744073709551615"));
}

fn event_body(event: &CloudEvent) -> String {
    serde_json::to_string(event).unwrap()
}

#[test]
fn unknown_enum_values_and_extra_fields_pass_verbatim() {
    let mut body: Map<String, Value> = serde_json::from_str(INSERT).unwrap();
    body.insert("status".into(), json!("ON_HOLD"));
    body.insert("riskRating".into(), json!("VERY_HIGH"));
    body.insert("action".into(), json!("Delete"));
    body.insert("customerType".into(), json!("TRUST"));
    body.insert("newField".into(), json!({"nested": [1, 2]}));
    let event = event(&serde_json::to_string(&body).unwrap());
    assert_eq!(event.kind, "co.cynopsis.artemis.customer.delete");
    assert_eq!(event.data.unwrap(), Value::Object(body));
}

#[test]
fn absent_nullable_fields_are_emitted_as_null() {
    let mut body: Map<String, Value> = serde_json::from_str(INSERT).unwrap();
    body.remove("riskRating");
    body.remove("message");
    let data = event(&serde_json::to_string(&body).unwrap()).data.unwrap();
    assert_eq!(data["riskRating"], Value::Null);
    assert!(data.as_object().unwrap().contains_key("riskRating"));
    assert!(data.as_object().unwrap().contains_key("message"));
}

fn errors(body: &str) -> Vec<String> {
    parse(body.as_bytes(), NOW, "req-1")
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

#[test]
fn every_problem_is_listed_with_its_field() {
    let found = errors(
        r#"{"customerId":"123","customerReferenceId":7,"status":null,"riskRating":5,"action":"INSERT","message":false}"#,
    );
    assert_eq!(
        found,
        [
            "customerId: must be an integer, not a string",
            "customerReferenceId: must be a string, not a number",
            "profileReferenceId: is required",
            "status: must not be null",
            "riskRating: must be a string, not a number",
            "message: must be a string, not a boolean",
            "customerType: is required",
        ]
    );
}

#[test]
fn number_forms_that_could_lose_the_id_are_refused() {
    for id in ["1.5", "1e3", "-4", "18446744073709551616", "123.0"] {
        let found = errors(&INSERT.replace("123456", id));
        assert_eq!(found.len(), 1, "{id}: {found:?}");
        assert!(found[0].starts_with("customerId:"), "{found:?}");
    }
}

#[test]
fn body_level_problems() {
    assert_eq!(errors("[1,2]"), ["body: must be a JSON object, not an array"]);
    assert!(errors("{\"customerId\":")[0].starts_with("body: not valid JSON"));
    let duplicated = INSERT.replacen("\"status\"", "\"status\": \"REJECTED\", \"status\"", 1);
    assert_eq!(
        errors(&duplicated),
        ["status: this key appears more than once in the same object"]
    );
    assert!(errors("")[0].starts_with("body: the body is empty"));
}

#[test]
fn known_values_round_trip() {
    for text in ["DRAFT", "PENDING", "CLEARED", "REQUIRE_UPDATE", "REJECTED", "ACCEPTED"] {
        let status = CustomerStatus::parse(text);
        assert!(status.is_known(), "{text}");
        assert_eq!(status.as_str(), text);
    }
    assert_eq!(RiskRating::parse("MEDIUM_HIGH"), RiskRating::MediumHigh);
}

#[test]
fn unknown_values_are_found_by_field() {
    let body = INSERT.replace("\"PENDING\"", "\"ON_HOLD\"");
    let parsed = parse(body.as_bytes(), NOW, "req-1").unwrap();
    assert_eq!(parsed.unknown_enum_fields, ["status"]);
    assert!(!parsed.batch);
    let known = parse(INSERT.as_bytes(), NOW, "req-1").unwrap();
    assert!(known.unknown_enum_fields.is_empty());
}
