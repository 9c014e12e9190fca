//! The archive's records: one NDJSON line per kept message,
//! `{"kind", "provider", "receivedtime", "requestId", "message"}`, where
//! `message` is the queued body itself, byte for byte. A line Firehose would
//! refuse (over 1,000 KiB) is written as numbered parts instead:
//! `{"kind", "provider", "receivedtime", "requestId", "partOf", "part",
//! "parts", "messagePart"}`, where `partOf` is the SHA-256 of the whole body
//! and `messagePart` a piece of it as a JSON string; [`join_parts`] joins
//! them again.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::MAX_RECORD_BYTES;
use platform::sqs::sha256_hex;

/// What a kept message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A CloudEvent put on the events queue.
    Event,
    /// A quarantine record.
    Quarantine,
}

impl Kind {
    /// The `kind` field's value: `event` or `quarantine`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Quarantine => "quarantine",
        }
    }
}

/// The most of a request id an archive record's own field holds (a front
/// door's ids are far shorter; the quarantine record inside keeps it whole).
const MAX_REQUEST_ID_BYTES: usize = 1024;

/// The archive record(s) of one queued `message` body: one line, or numbered
/// parts when one line would pass Firehose's 1,000 KiB.
pub fn records(kind: Kind, provider: &str, receivedtime: &str, request_id: &str, message: &str) -> Vec<Vec<u8>> {
    let head = format!(
        "{{\"kind\":\"{}\",\"provider\":{},\"receivedtime\":{},\"requestId\":{}",
        kind.as_str(),
        json_string(provider),
        json_string(receivedtime),
        json_string(&platform::sqs::truncate(request_id, MAX_REQUEST_ID_BYTES)),
    );
    let whole = format!("{head},\"message\":{message}}}\n");
    if whole.len() <= MAX_RECORD_BYTES {
        return vec![whole.into_bytes()];
    }
    let part_of = sha256_hex(message.as_bytes());
    // A JSON text needs at most two bytes per byte as a JSON string (`"` and
    // `\` are escaped; it holds no raw control characters), so a piece this
    // large always fits with its head.
    let piece = (MAX_RECORD_BYTES - head.len() - 256) / 2;
    let pieces = crate::egress::log::split_text(message, piece);
    let count = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(index, text)| {
            format!(
                "{head},\"partOf\":\"{part_of}\",\"part\":{},\"parts\":{count},\"messagePart\":{}}}\n",
                index + 1,
                json_string(text)
            )
            .into_bytes()
        })
        .collect()
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// One kept message as the archive holds it, parts joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedMessage {
    /// `event` or `quarantine`.
    pub kind: String,
    /// The vendor's name.
    pub provider: String,
    /// As in the message (RFC 3339, UTC).
    pub receivedtime: String,
    /// The delivery's request id (the front door's).
    pub request_id: String,
    /// The queued body, byte for byte (JSON text).
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    kind: String,
    provider: String,
    receivedtime: String,
    request_id: String,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    part_of: Option<String>,
    part: Option<usize>,
    parts: Option<usize>,
    message_part: Option<String>,
}

/// Every message in `lines` (NDJSON as the archive stores it, in any order):
/// whole records as they are, parted ones joined. Parts that are incomplete
/// or do not add up to their digest are left out, and counted in the second
/// value, with lines that are not archive records.
pub fn join_parts<'a>(lines: impl IntoIterator<Item = &'a str>) -> (Vec<ArchivedMessage>, usize) {
    let mut messages = Vec::new();
    let mut unreadable = 0;
    let mut parted: BTreeMap<String, (ArchivedMessage, usize, BTreeMap<usize, String>)> = BTreeMap::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Ok(record) = serde_json::from_str::<Line>(line) else {
            unreadable += 1;
            continue;
        };
        let mut message = ArchivedMessage {
            kind: record.kind,
            provider: record.provider,
            receivedtime: record.receivedtime,
            request_id: record.request_id,
            message: String::new(),
        };
        match (
            record.message,
            record.part_of,
            record.part,
            record.parts,
            record.message_part,
        ) {
            (Some(whole), _, _, _, _) => {
                message.message = whole.get().to_owned();
                messages.push(message);
            }
            (None, Some(part_of), Some(part), Some(parts), Some(text)) => {
                parted
                    .entry(part_of)
                    .or_insert_with(|| (message, parts, BTreeMap::new()))
                    .2
                    .insert(part, text);
            }
            _ => unreadable += 1,
        }
    }
    for (part_of, (mut message, parts, pieces)) in parted {
        let complete = pieces.len() == parts && pieces.keys().copied().eq(1..=parts);
        let text: String = pieces.into_values().collect();
        if complete && sha256_hex(text.as_bytes()) == part_of {
            message.message = text;
            messages.push(message);
        } else {
            unreadable += 1;
        }
    }
    (messages, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(records: &[Vec<u8>]) -> Vec<&str> {
        records.iter().map(|r| std::str::from_utf8(r).unwrap()).collect()
    }

    #[test]
    fn a_record_is_one_ndjson_line_holding_the_message_byte_for_byte() {
        let message = r#"{"id":"e1","data":{"n":1.50,"s":"\u0001é\ufffe"}}"#;
        let records = records(Kind::Event, "artemis", "2026-11-29T10:00:00Z", "req-1", message);
        assert_eq!(records.len(), 1);
        let line = std::str::from_utf8(&records[0]).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{line}");
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["kind"], "event");
        assert_eq!(value["provider"], "artemis");
        assert_eq!(value["receivedtime"], "2026-11-29T10:00:00Z");
        assert_eq!(value["requestId"], "req-1");
        assert_eq!(value["message"]["id"], "e1");
        let (joined, unreadable) = join_parts(lines(&records));
        assert_eq!(unreadable, 0);
        assert_eq!(joined[0].message, message, "byte for byte");
        assert_eq!(joined[0].kind, "event");
    }

    #[test]
    fn a_message_over_firehoses_limit_is_kept_in_parts_that_join_again() {
        // The largest message SQS takes, all quotes and backslashes: escaping doubles it.
        let inner = "\\\"".repeat(1024 * 1024 / 2 - 20);
        let message = format!("{{\"b\":\"{inner}\"}}");
        let records = records(Kind::Quarantine, "amlyze", "t", "r", &message);
        assert!(records.len() > 1);
        for record in &records {
            assert!(record.len() <= MAX_RECORD_BYTES, "{}", record.len());
            assert!(super::super::batch_violations(std::slice::from_ref(record)).is_empty());
        }
        let mut shuffled = lines(&records);
        shuffled.reverse();
        let (joined, unreadable) = join_parts(shuffled.clone());
        assert_eq!((joined.len(), unreadable), (1, 0));
        assert_eq!(joined[0].message, message);
        assert_eq!(joined[0].kind, "quarantine");
        // A part missing: nothing is made up.
        let (joined, unreadable) = join_parts(shuffled[1..].iter().copied());
        assert_eq!((joined.len(), unreadable), (0, 1));
    }

    #[test]
    fn lines_that_are_not_records_are_counted() {
        let (joined, unreadable) = join_parts(["", "not json", "{\"kind\":\"event\"}"]);
        assert_eq!((joined.len(), unreadable), (0, 2));
    }
}
