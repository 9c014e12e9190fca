//! Properties of the parsers and the normalizer, over generated input.

use intake::testing::CloudEvent;
use intake::testing::{amlyze, artemis};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A field name Artemis documents, or any other.
fn artemis_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(intake_queue::artemis::FIELDS.to_vec()).prop_map(str::to_owned),
        "[a-zA-Z]{1,12}"
    ]
}

fn enum_text(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(known.to_vec()).prop_map(str::to_owned),
        "[A-Z_]{1,12}",
        ".{1,8}"
    ]
}

/// A valid Artemis callback, with unknown values and extra fields mixed in.
fn valid_callback() -> impl Strategy<Value = Map<String, Value>> {
    (
        any::<u64>(),
        ".{1,20}",
        ".{1,20}",
        enum_text(&["DRAFT", "PENDING", "CLEARED", "REQUIRE_UPDATE", "REJECTED", "ACCEPTED"]),
        proptest::option::of(enum_text(&["LOW", "MEDIUM_LOW", "MEDIUM", "MEDIUM_HIGH", "HIGH"])),
        enum_text(&["INSERT", "UPDATE"]),
        proptest::option::of(".{0,30}"),
        enum_text(&["INDIVIDUAL", "CORPORATE"]),
        prop::collection::btree_map("x[a-zA-Z]{1,10}", any_json(), 0..3),
    )
        .prop_map(|(id, reference, profile, status, risk, action, message, kind, extra)| {
            let mut object = Map::new();
            object.insert("customerId".into(), json!(id));
            object.insert("customerReferenceId".into(), json!(reference));
            object.insert("profileReferenceId".into(), json!(profile));
            object.insert("status".into(), json!(status));
            object.insert("riskRating".into(), json!(risk));
            object.insert("action".into(), json!(action));
            object.insert("message".into(), json!(message));
            object.insert("customerType".into(), json!(kind));
            object.extend(extra);
            object
        })
}

/// The object written with its keys in the given order, compact or spaced.
fn write(object: &Map<String, Value>, order: &[usize], spaced: bool) -> String {
    let entries: Vec<(&String, &Value)> = object.iter().collect();
    let mut keys: Vec<usize> = (0..entries.len()).collect();
    keys.sort_by_key(|i| order.get(*i).copied().unwrap_or(*i));
    let separator = if spaced { " ,\n  " } else { "," };
    let parts: Vec<String> = keys
        .iter()
        .map(|i| {
            let (k, v) = entries[*i];
            if spaced {
                format!("{} :  {}", json!(k), serde_json::to_string_pretty(v).unwrap())
            } else {
                format!("{}:{}", json!(k), v)
            }
        })
        .collect();
    format!("{{{}}}", parts.join(separator))
}

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.insert(name, value);
        }
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn artemis_any_bytes_are_an_event_or_listed_errors(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match artemis::parse(&bytes, now(), "req-1") {
            Ok(parsed) => prop_assert_eq!(parsed.events.len(), 1),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn artemis_any_json_object_is_an_event_or_listed_errors(fields in prop::collection::btree_map(artemis_key(), any_json(), 0..10)) {
        let body = serde_json::to_vec(&fields).unwrap();
        match artemis::parse(&body, now(), "req-1") {
            Ok(parsed) => prop_assert_eq!(parsed.events.len(), 1),
            Err(errors) => prop_assert!(errors.iter().all(|e| !e.field.is_empty() && !e.message.is_empty())),
        }
    }

    #[test]
    fn amlyze_any_headers_and_bytes_are_events_or_listed_errors(
        content_type in prop::sample::select(vec!["application/json", "application/cloudevents+json", "application/cloudevents-batch+json", ""]),
        ce in prop::collection::vec((prop::sample::select(vec!["ce-id", "ce-source", "ce-type", "ce-specversion", "ce-subject", "ce-time", "ce-x", "ce-Bad-Name"]), "[ -~]{0,24}"), 0..8),
        body in prop_oneof![prop::collection::vec(any::<u8>(), 0..256), any_json().prop_map(|v| serde_json::to_vec(&v).unwrap())],
    ) {
        let mut pairs: Vec<(String, String)> = ce.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if !content_type.is_empty() {
            pairs.push(("content-type".into(), content_type.into()));
        }
        match amlyze::parse(&headers(&pairs), &body, now()) {
            Ok(parsed) => prop_assert!(!parsed.events.is_empty()),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn artemis_dedupe_key_is_stable_under_key_order_and_whitespace(
        callback in valid_callback(),
        order in prop::collection::vec(any::<usize>(), 12),
        spaced in any::<bool>(),
    ) {
        let plain = serde_json::to_string(&callback).unwrap();
        let reordered = write(&callback, &order, spaced);
        let a = artemis::parse(plain.as_bytes(), now(), "req-1").unwrap().events.remove(0);
        let b = artemis::parse(reordered.as_bytes(), now(), "req-1").unwrap().events.remove(0);
        prop_assert_eq!(&a.dedupekey, &b.dedupekey);
        prop_assert_eq!(&a.id, &b.id);
        // Every documented field and every extra field, with the values sent.
        prop_assert_eq!(a.data.clone().unwrap(), Value::Object(callback));
    }

    #[test]
    fn normalized_events_round_trip_through_json(callback in valid_callback()) {
        let event = artemis::parse(serde_json::to_string(&callback).unwrap().as_bytes(), now(), "req-1").unwrap().events.remove(0);
        let text = serde_json::to_string(&event).unwrap();
        let back: CloudEvent = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, event);
    }

    #[test]
    fn amlyze_structured_events_round_trip_and_keep_flags(
        id in "[a-zA-Z0-9-]{1,36}",
        subject in ".{1,20}",
        flags in prop::collection::vec(proptest::option::of(any::<bool>()), 4),
        risk in proptest::option::of(enum_text(&["NONE", "LOW", "MEDIUM", "HIGH", "EXTREME"])),
    ) {
        let mut data = Map::new();
        data.insert("customerExternalID".into(), json!(subject));
        for (name, flag) in ["sanctioned", "pep", "inAdverseMedia", "inInternalList"].iter().zip(&flags) {
            if let Some(flag) = flag {
                data.insert((*name).into(), json!(flag));
            }
        }
        if let Some(risk) = &risk {
            data.insert("riskLevel".into(), json!(risk));
        }
        let event = json!({"specversion": "1.0", "id": id, "source": "amlyze", "type": intake_queue::amlyze::CUSTOMER_UPDATED, "subject": subject, "data": data});
        let pairs = vec![("content-type".to_owned(), intake::testing::STRUCTURED.to_owned())];
        let parsed = amlyze::parse(&headers(&pairs), event.to_string().as_bytes(), now()).unwrap().events.remove(0);
        let out = parsed.data.clone().unwrap();
        for (name, flag) in ["sanctioned", "pep", "inAdverseMedia", "inInternalList"].iter().zip(&flags) {
            // Not reported stays null; never false.
            prop_assert_eq!(&out[*name], &flag.map_or(Value::Null, Value::Bool));
        }
        let back: CloudEvent = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        prop_assert_eq!(back, parsed);
    }
}
