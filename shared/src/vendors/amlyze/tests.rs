//! Amlyze's rules, through the binding's binary mode; the binding's own
//! tests are in `cloudevents/tests.rs`.

use super::*;
use crate::egress::envelope::CloudEvent;
use crate::open_enum::OpenEnum;
use intake_queue::amlyze::{RiskLevel, ScreeningStatus};
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::json;
use time::macros::datetime;

pub(crate) const EXAMPLE: &str = include_str!("../../../../events/bodies/amlyze-customer-updated.json");
pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-23 10:00:00 UTC);
pub(crate) const SUBJECT: &str = "82deaa92-d559-40bd-96b7-053341a08e28";

pub(crate) fn binary_headers(extra: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("ce-id", "0412a5ca-3be7-46b7-87de-38366397602e"),
        ("ce-source", "customer"),
        ("ce-type", CUSTOMER_UPDATED),
        ("ce-specversion", "1.0"),
        ("ce-subject", SUBJECT),
        ("ce-time", "2026-03-10t12:53:45.85z"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    for (name, value) in extra {
        if value.is_empty() {
            headers.remove(*name);
        } else {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
    }
    headers
}

pub(crate) fn one(headers: &HeaderMap, body: &str) -> CloudEvent {
    let mut events = parse(headers, body.as_bytes(), NOW).unwrap().events;
    assert_eq!(events.len(), 1);
    events.remove(0)
}

pub(crate) fn errors(headers: &HeaderMap, body: &str) -> Vec<String> {
    parse(headers, body.as_bytes(), NOW)
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

#[test]
fn vendor_example_in_binary_mode() {
    let event = one(&binary_headers(&[]), EXAMPLE);
    assert_eq!(event.id, "0412a5ca-3be7-46b7-87de-38366397602e");
    assert_eq!(event.source, "customer");
    assert_eq!(event.kind, CUSTOMER_UPDATED);
    assert_eq!(event.subject.as_deref(), Some(SUBJECT));
    assert_eq!(event.time, "2026-03-10T12:53:45.85Z", "Ce-Time, normalized to UTC");
    assert_eq!(event.receivedtime, "2026-11-23T10:00:00Z");
    assert_eq!(event.provider, "amlyze");
    let data = event.data.unwrap();
    assert_eq!(
        data["updatedAt"], "2019-12-13T12:01:02.694Z",
        "updateAt becomes updatedAt"
    );
    assert!(data.get("updateAt").is_none());
    assert_eq!(data["sanctioned"], true);
    assert_eq!(data["riskLevel"], "EXTREME");
    assert_eq!(data["customerExternalID"], SUBJECT);
}

#[test]
fn time_falls_back_to_updated_at_then_to_reception() {
    let event = one(&binary_headers(&[("ce-time", "")]), EXAMPLE);
    assert_eq!(event.time, "2019-12-13T12:01:02.694Z");
    let body = r#"{"customerExternalID":"82deaa92-d559-40bd-96b7-053341a08e28"}"#;
    let event = one(&binary_headers(&[("ce-time", "")]), body);
    assert_eq!(event.time, "2026-11-23T10:00:00Z");
}

#[test]
fn absent_flags_stay_null_never_false() {
    let body = r#"{"customerExternalId":"82deaa92-d559-40bd-96b7-053341a08e28","sanctioned":false,"extraField":[1]}"#;
    let data = one(&binary_headers(&[]), body).data.unwrap();
    assert_eq!(data["sanctioned"], false);
    for flag in [
        "pep",
        "inAdverseMedia",
        "inInternalList",
        "riskLevel",
        "status",
        "updatedAt",
    ] {
        assert_eq!(data.get(flag), Some(&Value::Null), "{flag} present and null");
    }
    assert_eq!(
        data["customerExternalID"], SUBJECT,
        "customerExternalId is accepted, emitted as customerExternalID"
    );
    assert!(data.get("customerExternalId").is_none());
    assert_eq!(data["extraField"], json!([1]));
}

#[test]
fn unknown_enum_values_pass_verbatim() {
    let body = EXAMPLE
        .replace("\"EXTREME\"", "\"CATASTROPHIC\"")
        .replace("\"PENDING\"", "\"ON_REVIEW\"");
    let data = one(&binary_headers(&[]), &body).data.unwrap();
    assert_eq!(data["riskLevel"], "CATASTROPHIC");
    assert_eq!(data["status"], "ON_REVIEW");
}

#[test]
fn subject_must_agree_with_the_customer() {
    let found = errors(&binary_headers(&[("ce-subject", "someone-else")]), EXAMPLE);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("Ce-Subject: \"someone-else\" disagrees with customerExternalID"),
        "{found:?}"
    );
}

#[test]
fn missing_customer_and_conflicting_aliases() {
    assert_eq!(errors(&binary_headers(&[]), "{}"), ["customerExternalID: is required"]);
    let both = r#"{"customerExternalID":"a","customerExternalId":"b"}"#;
    assert_eq!(
        errors(&binary_headers(&[("ce-subject", "")]), both),
        ["customerExternalId: disagrees with customerExternalID; send one of them"]
    );
    assert!(errors(&binary_headers(&[]), "[]")[0].starts_with("body: must be a JSON object"));
}

#[test]
fn dedupe_key_comes_from_source_and_id() {
    let a = one(&binary_headers(&[]), EXAMPLE);
    let b = one(&binary_headers(&[("ce-time", "2027-01-01T00:00:00Z")]), EXAMPLE);
    assert_eq!(a.dedupekey, b.dedupekey);
    let c = one(&binary_headers(&[("ce-source", "other")]), EXAMPLE);
    assert_ne!(a.dedupekey, c.dedupekey);
}

#[test]
fn unknown_enum_values_are_found_by_field() {
    let body = EXAMPLE.replace("\"EXTREME\"", "\"CATASTROPHIC\"");
    let parsed = parse(&binary_headers(&[]), body.as_bytes(), NOW).unwrap();
    assert_eq!(parsed.unknown_enum_fields, ["riskLevel"]);
    let known = parse(&binary_headers(&[]), EXAMPLE.as_bytes(), NOW).unwrap();
    assert!(known.unknown_enum_fields.is_empty());
    assert_eq!(RiskLevel::parse("EXTREME"), RiskLevel::Extreme);
    assert_eq!(ScreeningStatus::parse("SUSPENDED"), ScreeningStatus::Suspended);
}
