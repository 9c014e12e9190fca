//! The binding in every mode, with Amlyze's rules as the sender (and a
//! sender that checks no type).

use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use super::*;
use crate::vendors::amlyze::tests::{binary_headers, errors, one, EXAMPLE, NOW, SUBJECT};
use crate::vendors::amlyze::CUSTOMER_UPDATED;

#[test]
fn percent_encoded_headers_are_decoded() {
    let body = EXAMPLE.replace(SUBJECT, "café");
    let event = one(
        &binary_headers(&[("ce-subject", "caf%C3%A9"), ("ce-source", "https%3A%2F%2Famlyze")]),
        &body,
    );
    assert_eq!(event.subject.as_deref(), Some("café"));
    assert_eq!(event.source, "https://amlyze");
}

#[test]
fn every_binary_mode_problem_is_listed() {
    let headers = binary_headers(&[
        ("ce-id", ""),
        ("ce-specversion", "0.3"),
        ("ce-time", "soon"),
        ("ce-subject", "someone-else"),
    ]);
    let body = r#"{"customerExternalID":"x","sanctioned":"yes","riskLevel":3,"updatedAt":"12/13/2019"}"#;
    let found = errors(&headers, body);
    assert_eq!(
        found,
        [
            "Ce-Id: header is required (CloudEvents binary mode)",
            "Ce-Specversion: must be 1.0",
            "Ce-Time: must be an RFC 3339 timestamp such as 2026-03-10T12:53:45.85Z, not \"soon\"",
            "sanctioned: must be a boolean, not a string",
            "riskLevel: must be a string, not a number",
            "updatedAt: must be an RFC 3339 timestamp such as 2026-03-10T12:53:45.85Z, not \"12/13/2019\"",
        ]
    );
}

#[test]
fn other_types_pass_their_data_as_is() {
    let headers = binary_headers(&[("ce-type", "com.amlyze.case.closed"), ("ce-subject", "")]);
    let event = one(&headers, r#"{"caseId": 7, "anything": {"goes": true}}"#);
    assert_eq!(event.kind, "com.amlyze.case.closed");
    assert_eq!(event.data.unwrap(), json!({"caseId": 7, "anything": {"goes": true}}));
    assert_eq!(event.subject, None);
    let empty = one(&headers, "");
    assert_eq!(empty.data, None);
}

#[test]
fn extension_headers_are_carried_over() {
    let event = one(
        &binary_headers(&[("ce-traceparent", "00-abc-def-01"), ("ce-provider", "spoofed")]),
        EXAMPLE,
    );
    assert_eq!(event.extensions["traceparent"], "00-abc-def-01");
    assert_eq!(event.provider, "amlyze", "our own attributes are not overwritten");
    assert!(!event.extensions.contains_key("provider"));
}

fn structured(event: &Value) -> (HeaderMap, String) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(STRUCTURED));
    (headers, event.to_string())
}

fn example_event() -> Value {
    json!({
        "specversion": "1.0",
        "id": "evt-1",
        "source": "customer",
        "type": CUSTOMER_UPDATED,
        "subject": SUBJECT,
        "time": "2026-03-10T12:53:45.850Z",
        "datacontenttype": "application/json",
        "data": serde_json::from_str::<Value>(EXAMPLE).unwrap(),
    })
}

#[test]
fn structured_mode() {
    let (headers, body) = structured(&example_event());
    let event = one(&headers, &body);
    assert_eq!(event.id, "evt-1");
    assert_eq!(event.time, "2026-03-10T12:53:45.85Z");
    assert_eq!(event.data.unwrap()["updatedAt"], "2019-12-13T12:01:02.694Z");
}

#[test]
fn structured_mode_lists_attribute_and_data_problems_together() {
    let mut bad = example_event();
    bad["specversion"] = json!("2.0");
    bad.as_object_mut().unwrap().remove("source");
    bad["data"]["pep"] = json!("no");
    bad["Bad-Name"] = json!(1);
    let (headers, body) = structured(&bad);
    assert_eq!(
        errors(&headers, &body),
        [
            "specversion: must be \"1.0\"",
            "source: is required",
            "Bad-Name: is not a valid CloudEvents attribute name (lower-case letters and digits only)",
            "data.pep: must be a boolean, not a string",
        ]
    );
}

#[test]
fn batch_mode_enqueues_each_event_and_is_all_or_nothing() {
    let mut second = example_event();
    second["id"] = json!("evt-2");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(BATCH));
    let body = json!([example_event(), second]).to_string();
    let parsed = crate::vendors::amlyze::parse(&headers, body.as_bytes(), NOW).unwrap();
    assert!(parsed.batch);
    let events = parsed.events;
    assert_eq!(
        events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["evt-1", "evt-2"]
    );
    assert_ne!(events[0].dedupekey, events[1].dedupekey);

    let mut broken = example_event();
    broken["data"]["sanctioned"] = json!(1);
    let body = json!([example_event(), broken, 5]).to_string();
    assert_eq!(
        errors(&headers, &body),
        [
            "[1].data.sanctioned: must be a boolean, not a number",
            "[2]: must be a CloudEvent JSON object, not a number"
        ]
    );
    assert_eq!(errors(&headers, "[]"), ["body: the batch holds no events"]);
    let too_many = json!(vec![example_event(); MAX_BATCH_EVENTS + 1]).to_string();
    assert_eq!(
        errors(&headers, &too_many),
        ["body: the batch holds 101 events; at most 100 are taken in one request"]
    );
    assert_eq!(
        errors(&headers, "{}"),
        ["body: a batch must be a JSON array, not an object"]
    );
}

/// A sender with no rules of its own: the binding alone.
struct Plain;

impl crate::vendors::vendor::Vendor for Plain {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn methods(&self) -> &'static [lambda_http::http::Method] {
        &[lambda_http::http::Method::POST]
    }

    fn parse(
        &self,
        request: &crate::ingress::request::Incoming,
        received: time::OffsetDateTime,
    ) -> Result<crate::vendors::vendor::Parsed, Vec<FieldError>> {
        parse(self, &request.headers, &request.body, received)
    }
}

impl Sender for Plain {
    fn checks(&self, _kind: &str) -> bool {
        false
    }

    fn data(&self, _kind: &str, _data: &Value, _path: &str) -> Result<TypedData, Vec<FieldError>> {
        unreachable!("Plain checks no type")
    }
}

#[test]
fn any_sender_gets_the_binding_alone() {
    let headers = binary_headers(&[]);
    let parsed = parse(&Plain, &headers, br#"{"customerExternalID": 5}"#, NOW).unwrap();
    let event = &parsed.events[0];
    assert_eq!(event.provider, "plain");
    assert_eq!(
        event.kind, CUSTOMER_UPDATED,
        "a type Plain does not check passes as it came"
    );
    assert_eq!(event.data, Some(json!({"customerExternalID": 5})));
    assert_eq!(event.subject.as_deref(), Some(SUBJECT));
    assert!(!parsed.batch && parsed.unknown_enum_fields.is_empty());
    let amlyze = one(&headers, EXAMPLE);
    assert_ne!(
        event.dedupekey, amlyze.dedupekey,
        "the provider is part of the dedupe key"
    );
}
