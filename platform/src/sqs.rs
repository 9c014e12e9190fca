//! An outgoing SQS message ([`Message`]) and the real platform's limits it
//! is made to (contract, "Nothing is lost"), as code.
//!
//! Local stand-ins are laxer than AWS: moto stores messages SQS refuses, and a
//! home-made Runtime API emulator has none of Lambda's limits. The functions
//! build every outgoing message to fit these rules, and the tests check every
//! message they see against the same rules ([`Message::violations`]): the
//! in-memory queues of `intake`'s `testing` feature and the strict layer in front of moto.

use sha2::{Digest, Sha256};

/// SQS: the largest message, body plus every attribute's name, type and value.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// SQS: entries in one `SendMessageBatch`.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// SQS: the whole of one `SendMessageBatch`.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// SQS: message attributes on one message.
pub const MAX_ATTRIBUTES: usize = 10;
/// SQS FIFO: `MessageGroupId` and `MessageDeduplicationId` length.
pub const MAX_FIFO_ID_CHARS: usize = 128;
/// Lambda, synchronous invocation: the response payload (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// CloudWatch Logs: one log record (the conservative limit).
pub const MAX_LOG_RECORD_BYTES: usize = 256 * 1024;

/// This project's own cap on a message attribute value (SQS's only limit is
/// the message's): a longer value is replaced by `sha256:` and its digest.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// Whether SQS accepts `c` in a body or an attribute value: #x9, #xA, #xD,
/// #x20–#xD7FF, #xE000–#xFFFD, #x10000–#x10FFFF.
pub fn is_sqs_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `id` is a valid FIFO group or deduplication id: 1–128 characters
/// of ASCII letters, digits and punctuation.
pub fn is_fifo_id(id: &str) -> bool {
    (1..=MAX_FIFO_ID_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether SQS accepts `name` as a message attribute name.
pub fn is_sqs_attribute_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (1..=256).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
        && !name.contains("..")
        && !name.starts_with('.')
        && !name.ends_with('.')
}

/// A JSON text SQS accepts as a body. `serde_json` escapes control
/// characters but writes the noncharacters U+FFFE and U+FFFF as they are,
/// and SQS refuses those: they are written as `\ufffe` / `\uffff` escapes,
/// which mean the same string. (In JSON text they can only occur inside
/// strings, so the replacement is always a valid escape.)
pub fn sqs_safe_json(json: String) -> String {
    if !json.contains(['\u{FFFE}', '\u{FFFF}']) {
        return json;
    }
    json.replace('\u{FFFE}', "\\ufffe").replace('\u{FFFF}', "\\uffff")
}

/// A value for a String message attribute that SQS accepts: characters it
/// refuses become U+FFFD, a value longer than [`MAX_ATTRIBUTE_VALUE_BYTES`]
/// becomes `sha256:` + the hex digest of the exact value, and an empty value
/// is left out (`None`). The message body always keeps the exact value.
pub fn attribute_value(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
        return Some(format!("sha256:{}", sha256_hex(value.as_bytes())));
    }
    Some(
        value
            .chars()
            .map(|c| if is_sqs_char(c) { c } else { '\u{FFFD}' })
            .collect(),
    )
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// One message as SQS sees it: what the functions send and what the tests check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The message body (a CloudEvent or a quarantine record, as JSON text).
    pub body: String,
    /// String message attributes, name and value.
    pub attributes: Vec<(String, String)>,
    /// FIFO only: the message group (one per customer).
    pub group_id: Option<String>,
    /// FIFO only: the deduplication id (from the event's `source` and `id`).
    pub deduplication_id: Option<String>,
    /// The `AWSTraceHeader` system attribute (not counted in the size).
    pub trace_header: Option<String>,
}

impl Message {
    /// The size SQS counts: the body plus every attribute's name, type and value.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>()
    }

    /// Every rule of the contract's SQS table this message breaks, on a FIFO
    /// queue when `fifo` (which needs a group id; a deduplication id is
    /// required unless content-based deduplication is on, so it is checked
    /// whenever present).
    pub fn violations(&self, fifo: bool) -> Vec<String> {
        let mut found = Vec::new();
        if self.body.is_empty() {
            found.push("the body is empty".to_owned());
        }
        if let Some(c) = self.body.chars().find(|c| !is_sqs_char(*c)) {
            found.push(format!("the body holds U+{:04X}, which SQS refuses", u32::from(c)));
        }
        if self.size() > MAX_MESSAGE_BYTES {
            found.push(format!(
                "the message is {} bytes, over {MAX_MESSAGE_BYTES}",
                self.size()
            ));
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            found.push(format!(
                "{} message attributes, over {MAX_ATTRIBUTES}",
                self.attributes.len()
            ));
        }
        for (name, value) in &self.attributes {
            if !is_sqs_attribute_name(name) {
                found.push(format!("attribute name {name:?} is not one SQS accepts"));
            }
            if value.is_empty() {
                found.push(format!("attribute {name:?} is empty"));
            }
            if let Some(c) = value.chars().find(|c| !is_sqs_char(*c)) {
                found.push(format!(
                    "attribute {name:?} holds U+{:04X}, which SQS refuses",
                    u32::from(c)
                ));
            }
        }
        if let Some(c) = self
            .trace_header
            .as_deref()
            .and_then(|t| t.chars().find(|c| !is_sqs_char(*c)))
        {
            found.push(format!("AWSTraceHeader holds U+{:04X}", u32::from(c)));
        }
        match (&self.group_id, fifo) {
            (None, true) => found.push("a FIFO message needs a MessageGroupId".to_owned()),
            (Some(_), false) => found.push("MessageGroupId on a standard queue".to_owned()),
            _ => {}
        }
        for (what, id) in [
            ("MessageGroupId", &self.group_id),
            ("MessageDeduplicationId", &self.deduplication_id),
        ] {
            if let Some(id) = id.as_deref().filter(|id| !is_fifo_id(id)) {
                found.push(format!(
                    "{what} {:?} is not 1–128 ASCII letters, digits or punctuation",
                    truncate(id, 64)
                ));
            }
        }
        found
    }
}

/// Every rule a `SendMessageBatch` of these entries breaks, its entries' included.
pub fn batch_violations(entries: &[Message], fifo: bool) -> Vec<String> {
    let mut found = Vec::new();
    if entries.is_empty() || entries.len() > MAX_BATCH_ENTRIES {
        found.push(format!(
            "{} entries in one batch (1 to {MAX_BATCH_ENTRIES})",
            entries.len()
        ));
    }
    let total: usize = entries.iter().map(Message::size).sum();
    if total > MAX_BATCH_BYTES {
        found.push(format!("the batch is {total} bytes, over {MAX_BATCH_BYTES}"));
    }
    for (index, entry) in entries.iter().enumerate() {
        found.extend(
            entry
                .violations(fifo)
                .into_iter()
                .map(|v| format!("entry {index}: {v}")),
        );
    }
    found
}

/// At most `max` bytes of `text`, cut on a character boundary, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    intake_queue::quarantine::truncate(text.to_owned(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_characters() {
        for ok in [
            '\t',
            '\n',
            '\r',
            ' ',
            'é',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '😀',
        ] {
            assert!(is_sqs_char(ok), "{ok:?}");
        }
        for refused in ['\0', '\u{1}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!is_sqs_char(refused), "{refused:?}");
        }
    }

    #[test]
    fn noncharacters_are_escaped_and_mean_the_same() {
        let json = serde_json::to_string(&"a\u{FFFE}b\u{FFFF}\u{1}").unwrap();
        let safe = sqs_safe_json(json);
        assert!(safe.chars().all(is_sqs_char), "{safe}");
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a\u{FFFE}b\u{FFFF}\u{1}"
        );
    }

    #[test]
    fn attribute_values_are_made_safe() {
        assert_eq!(attribute_value(""), None);
        assert_eq!(attribute_value("CUST-1").as_deref(), Some("CUST-1"));
        assert_eq!(
            attribute_value("a\u{1}b\u{FFFE}").as_deref(),
            Some("a\u{FFFD}b\u{FFFD}")
        );
        let long = attribute_value(&"x".repeat(2000)).unwrap();
        assert!(long.starts_with("sha256:") && long.len() == 71, "{long}");
    }

    #[test]
    fn violations_name_each_broken_rule() {
        let message = Message {
            body: "x\u{FFFE}".into(),
            attributes: vec![("AWS.x".into(), "\u{0}".into())],
            group_id: Some("é".into()),
            deduplication_id: Some("x".repeat(129)),
            trace_header: None,
        };
        let found = message.violations(true);
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(Message {
            body: "{}".into(),
            ..Message::default()
        }
        .violations(false)
        .is_empty());
        let big = Message {
            body: "x".repeat(MAX_MESSAGE_BYTES),
            attributes: vec![("a".into(), "b".into())],
            ..Message::default()
        };
        assert_eq!(big.violations(false).len(), 1);
    }

    #[test]
    fn attribute_names() {
        for ok in ["provider", "type", "a.b", "x-y_z"] {
            assert!(is_sqs_attribute_name(ok), "{ok}");
        }
        for bad in ["", "AWS.x", "amazon.y", "a..b", ".a", "a.", "a b", "é"] {
            assert!(!is_sqs_attribute_name(bad), "{bad}");
        }
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
