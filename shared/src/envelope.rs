//! What lands on the queue: one CloudEvents 1.0 structured JSON event per
//! accepted event, plus the SQS attributes and FIFO ids derived from it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::Provider;

/// A CloudEvents 1.0 event in structured JSON form, as it is written to SQS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub time: String,
    pub datacontenttype: String,
    /// Absent only for an event that came without data (possible for
    /// non-customer Amlyze types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Extension: which vendor sent it (`artemis` or `amlyze`).
    pub provider: String,
    /// Extension: the key consumers deduplicate on.
    pub dedupekey: String,
    /// Extension: when this function received the request (RFC 3339, UTC).
    pub receivedtime: String,
    /// Other attributes the sender set (CloudEvents extensions, `dataschema`),
    /// passed on unchanged.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// Attribute names this service sets itself; a sender's attributes of the
/// same name are not copied over them.
pub const OWN_ATTRIBUTES: &[&str] = &[
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
pub fn is_attribute_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Lower-case hex SHA-256 of the canonical JSON array of `parts`: unambiguous
/// whatever the parts contain, and 64 characters long.
pub fn dedupe_key(parts: &[Value]) -> String {
    let canonical = serde_json::to_string(parts).unwrap_or_default();
    hex(&Sha256::digest(canonical.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A message ready for `SendMessage`.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub event: CloudEvent,
    pub body: String,
    /// FIFO only: one group per customer (provider + subject).
    pub group_id: String,
    /// FIFO only: derived from the dedupe key (64 characters).
    pub deduplication_id: String,
}

impl Outbound {
    pub fn new(event: CloudEvent) -> Self {
        let body = serde_json::to_string(&event).unwrap_or_default();
        let provider = Provider::from_name(&event.provider);
        let customer = event.subject.as_deref().unwrap_or(&event.source);
        let group_id = group_id(provider, customer);
        let deduplication_id = event.dedupekey.clone();
        Self {
            event,
            body,
            group_id,
            deduplication_id,
        }
    }
}

/// `provider:customer` when that is a valid SQS group id (at most 128
/// characters, ASCII letters, digits and punctuation); otherwise the customer
/// part is replaced by its SHA-256, which keeps one group per customer.
pub fn group_id(provider: Option<Provider>, customer: &str) -> String {
    let name = provider.map_or("unknown", Provider::name);
    let plain = format!("{name}:{customer}");
    if plain.len() <= 128 && plain.bytes().all(|b| b.is_ascii_graphic()) {
        plain
    } else {
        format!("{name}:sha256:{}", hex(&Sha256::digest(customer.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(group_id(Some(Provider::Artemis), "CUST-1"), "artemis:CUST-1");
        let accented = group_id(Some(Provider::Amlyze), "café");
        assert!(
            accented.starts_with("amlyze:sha256:") && accented.is_ascii(),
            "{accented}"
        );
        let long = group_id(Some(Provider::Amlyze), &"x".repeat(200));
        assert!(long.len() <= 128);
        assert_eq!(long, group_id(Some(Provider::Amlyze), &"x".repeat(200)));
    }

    #[test]
    fn attribute_names() {
        assert!(is_attribute_name("traceparent"));
        assert!(!is_attribute_name("trace-parent"));
        assert!(!is_attribute_name("Upper"));
        assert!(!is_attribute_name(""));
    }
}
