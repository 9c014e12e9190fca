//! What lands on the queue: one CloudEvents 1.0 structured JSON event per
//! accepted event, plus the SQS attributes and FIFO ids derived from it.

use serde_json::Value;

use platform::sqs::{attribute_value, is_sqs_char, sha256_hex, sqs_safe_json, Message};

/// A CloudEvents 1.0 event in structured JSON form, as it is written to SQS
/// (the type consumers read it with, from the `intake-queue` crate).
pub use intake_queue::CloudEvent;

/// Attribute names this service sets itself; a sender's attributes of the
/// same name are not copied over them.
pub(crate) const OWN_ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "data",
    "data_base64",
    "provider",
    "dedupekey",
    "receivedtime",
];

/// Whether `name` is a valid CloudEvents attribute name (`[a-z0-9]+`).
pub(crate) fn is_cloudevents_attribute_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Lower-case hex SHA-256 of the canonical JSON array of `parts`: unambiguous
/// whatever the parts contain, and 64 characters long.
pub fn dedupe_key(parts: &[Value]) -> String {
    let canonical = serde_json::to_string(parts).unwrap_or_default();
    sha256_hex(canonical.as_bytes())
}

/// An accepted event and the SQS message that carries it.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The event as it goes on the queue.
    pub event: CloudEvent,
    /// The SQS message carrying it (body, attributes, FIFO ids).
    pub message: Message,
}

impl Outbound {
    /// The message for `event` on a FIFO queue when `fifo`, with the
    /// invocation's X-Ray `trace_header`. Everything in it is made to SQS's
    /// rules ([`platform::sqs`]); only its size can still be too large, which
    /// the caller checks.
    pub fn new(event: CloudEvent, fifo: bool, trace_header: Option<&str>) -> Self {
        let body = sqs_safe_json(serde_json::to_string(&event).unwrap_or_default());
        let attributes = [
            ("provider", Some(&event.provider)),
            ("type", Some(&event.kind)),
            ("subject", event.subject.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), attribute_value(value?)?)))
        .collect();
        let (group_id, deduplication_id) = if fifo {
            let customer = event.subject.as_deref().unwrap_or(&event.source);
            let group = group_id(&event.provider, customer);
            (Some(group), Some(fifo_deduplication_id(&event.source, &event.id)))
        } else {
            (None, None)
        };
        let trace_header = trace_header
            .filter(|t| !t.is_empty() && t.len() <= 1024 && t.chars().all(is_sqs_char))
            .map(str::to_owned);
        let message = Message {
            body,
            attributes,
            group_id,
            deduplication_id,
            trace_header,
        };
        Self { event, message }
    }
}

/// The FIFO `MessageDeduplicationId`: the hex SHA-256 of `source` and `id`, so
/// SQS drops only a copy of the same delivery (the function's own retry, a
/// replay, an Amlyze redelivery of the same `Ce-Id`), never a later change
/// that returns a customer to an earlier state.
pub fn fifo_deduplication_id(source: &str, id: &str) -> String {
    dedupe_key(&[Value::from(source), Value::from(id)])
}

/// `provider:customer` when that is a valid SQS group id (at most 128
/// characters, ASCII letters, digits and punctuation); otherwise the customer
/// part is replaced by its SHA-256, which keeps one group per customer.
pub fn group_id(provider: &str, customer: &str) -> String {
    let plain = format!("{provider}:{customer}");
    if plain.len() <= 128 && plain.bytes().all(|b| b.is_ascii_graphic()) {
        plain
    } else {
        format!("{provider}:sha256:{}", sha256_hex(customer.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    #[test]
    fn dedupe_key_is_stable_and_unambiguous() {
        let a = dedupe_key(&[json!("artemis"), json!(1), json!("a|b"), json!("c")]);
        let b = dedupe_key(&[json!("artemis"), json!(1), json!("a"), json!("b|c")]);
        assert_ne!(a, b);
        assert_eq!(a, dedupe_key(&[json!("artemis"), json!(1), json!("a|b"), json!("c")]));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn group_ids_stay_within_sqs_rules() {
        assert_eq!(group_id("artemis", "CUST-1"), "artemis:CUST-1");
        let accented = group_id("amlyze", "café");
        assert!(
            accented.starts_with("amlyze:sha256:") && accented.is_ascii(),
            "{accented}"
        );
        let long = group_id("amlyze", &"x".repeat(200));
        assert!(long.len() <= 128);
        assert_eq!(long, group_id("amlyze", &"x".repeat(200)));
    }

    fn event(subject: &str) -> CloudEvent {
        CloudEvent {
            specversion: "1.0".into(),
            id: "id-1".into(),
            source: "artemis".into(),
            kind: "co.cynopsis.artemis.customer.update".into(),
            subject: Some(subject.into()),
            time: "2026-11-23T10:00:00Z".into(),
            datacontenttype: "application/json".into(),
            data: Some(json!({"customerReferenceId": subject})),
            provider: "artemis".into(),
            dedupekey: "k".into(),
            receivedtime: "2026-11-23T10:00:00Z".into(),
            extensions: Map::new(),
        }
    }

    #[test]
    fn messages_follow_sqs_rules_whatever_the_subject() {
        // Regression: control characters and U+FFFE in the
        // subject went into the `subject` attribute as they were.
        for subject in ["CUST-1", "a\u{0}b\u{1F}\u{FFFE}\u{FFFF}", "", &"é".repeat(5000)] {
            for fifo in [false, true] {
                let outbound = Outbound::new(event(subject), fifo, Some("Root=1-abc"));
                assert_eq!(outbound.message.violations(fifo), Vec::<String>::new(), "{subject:?}");
                let back: CloudEvent = serde_json::from_str(&outbound.message.body).unwrap();
                assert_eq!(back.subject.as_deref(), Some(subject), "the body keeps the exact value");
            }
        }
    }

    #[test]
    fn fifo_ids_are_per_delivery() {
        let a = Outbound::new(event("CUST-1"), true, None).message;
        let mut later = event("CUST-1");
        later.id = "id-2".into();
        let b = Outbound::new(later, true, None).message;
        assert_eq!(a.group_id, b.group_id);
        assert_ne!(a.deduplication_id, b.deduplication_id);
        assert_eq!(a.deduplication_id.unwrap().len(), 64);
        assert!(Outbound::new(event("CUST-1"), false, None).message.group_id.is_none());
    }

    #[test]
    fn attribute_names() {
        assert!(is_cloudevents_attribute_name("traceparent"));
        assert!(!is_cloudevents_attribute_name("trace-parent"));
        assert!(!is_cloudevents_attribute_name("Upper"));
        assert!(!is_cloudevents_attribute_name(""));
    }
}
