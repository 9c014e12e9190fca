//! Recovery of requests that no queue could take: the functions log each one
//! whole in an `unqueued_request` field, or, when large, in numbered
//! `unqueued_request_part` records (see [`intake::quarantine::quarantine_or_log`]); this finds
//! those records in a log, joins the parts, and turns each back into a request.

use std::collections::BTreeMap;

use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use time::OffsetDateTime;

use intake::quarantine::{QuarantineRecord, REDACTED};
use intake::request::Incoming;
use intake::Provider;

const FIELD: &str = "unqueued_request";
const PART_FIELD: &str = "unqueued_request_part";

/// One numbered part of a record logged in parts.
struct Part {
    part_of: String,
    part: usize,
    parts: usize,
    text: String,
}

/// Every unqueued request in `log`: JSON log lines (as Lambda writes them with
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, also when prefixed by a timestamp as in a
/// CloudWatch export) and text log lines (`unqueued_request={…}`), with
/// records logged in parts joined again (a record missing a part, or whose
/// parts do not add up to the digest they name, is left out).
pub fn records_in_log(log: &str) -> Vec<QuarantineRecord> {
    let mut records = Vec::new();
    let mut parted: BTreeMap<String, (usize, BTreeMap<usize, String>)> = BTreeMap::new();
    for line in log.lines() {
        if line.contains(PART_FIELD) {
            if let Some(part) = part_in_line(line) {
                let entry = parted
                    .entry(part.part_of)
                    .or_insert_with(|| (part.parts, BTreeMap::new()));
                entry.1.insert(part.part, part.text);
            }
        } else if line.contains(FIELD) {
            records.extend(record_in_line(line));
        }
    }
    for (part_of, (parts, pieces)) in parted {
        let complete = pieces.len() == parts && pieces.keys().copied().eq(1..=parts);
        let json: String = pieces.into_values().collect();
        if complete && intake::limits::sha256_hex(json.as_bytes()).starts_with(&part_of) {
            records.extend(serde_json::from_str(&json).ok());
        }
    }
    records
}

fn part_in_line(line: &str) -> Option<Part> {
    // JSON line: the fields sit together in one object.
    if let Some(start) = line.find('{') {
        if let Ok(value) = serde_json::from_str::<Value>(&line[start..]) {
            if let Some(fields) = object_with(&value, PART_FIELD) {
                let number = |key: &str| fields.get(key).and_then(Value::as_u64).map(|n| n as usize);
                let quoted = fields.get(PART_FIELD)?.as_str()?;
                return Some(Part {
                    part_of: fields.get("part_of")?.as_str()?.to_owned(),
                    part: number("part")?,
                    parts: number("parts")?,
                    text: serde_json::from_str(quoted).ok()?,
                });
            }
        }
    }
    // Text line: `part_of=… part=… parts=… unqueued_request_part="…"`.
    let value_after = |key: &str| {
        let start = line.find(&format!(" {key}="))? + key.len() + 2;
        line[start..].split_whitespace().next()
    };
    let start = line.find(&format!("{PART_FIELD}="))? + PART_FIELD.len() + 1;
    let text = serde_json::Deserializer::from_str(&line[start..])
        .into_iter::<String>()
        .next()?
        .ok()?;
    Some(Part {
        part_of: value_after("part_of")?.to_owned(),
        part: value_after("part")?.parse().ok()?,
        parts: value_after("parts")?.parse().ok()?,
        text,
    })
}

fn object_with<'v>(value: &'v Value, key: &str) -> Option<&'v serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) if map.contains_key(key) => Some(map),
        Value::Object(map) => map.values().find_map(|v| object_with(v, key)),
        _ => None,
    }
}

fn record_in_line(line: &str) -> Option<QuarantineRecord> {
    // JSON line: the record is a string field somewhere in the object.
    if let Some(start) = line.find('{') {
        if let Ok(value) = serde_json::from_str::<Value>(&line[start..]) {
            if let Some(text) = find_field(&value) {
                return serde_json::from_str(text).ok();
            }
        }
    }
    // Text line: `unqueued_request={...}` followed by other fields.
    let start = line.find(&format!("{FIELD}="))? + FIELD.len() + 1;
    let mut values = serde_json::Deserializer::from_str(&line[start..]).into_iter::<QuarantineRecord>();
    values.next()?.ok()
}

fn find_field(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map
            .get(FIELD)
            .and_then(Value::as_str)
            .or_else(|| map.values().find_map(find_field)),
        _ => None,
    }
}

/// The request a record holds, ready for [`intake::handler::replay`]: its
/// provider, the request (redacted headers and query values left out) and
/// when it was first received (so derived ids do not change).
pub fn request_of(record: &QuarantineRecord) -> Option<(Provider, Incoming, OffsetDateTime)> {
    let provider = Provider::from_name(&record.provider)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &record.headers {
        let Some(value) = value.as_str().filter(|v| *v != REDACTED) else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    }
    let query = record
        .query
        .iter()
        .filter_map(|(k, v)| v.as_str().filter(|v| *v != REDACTED).map(|v| (k.clone(), v.to_owned())))
        .collect();
    let received = intake::timestamp::parse(&record.receivedtime).ok()?;
    let incoming = Incoming {
        method: Method::from_bytes(record.method.as_bytes()).unwrap_or(Method::POST),
        path: record.path.clone(),
        query,
        headers,
        source_ip: record.source_ip.clone(),
        body: record.body_bytes()?,
        trace_header: None,
        // Records from before request ids were kept: their reception time names the delivery.
        request_id: if record.request_id.is_empty() {
            format!("received-{}", record.receivedtime)
        } else {
            record.request_id.clone()
        },
    };
    Some((provider, incoming, received))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> QuarantineRecord {
        serde_json::from_value(serde_json::json!({
            "provider": "amlyze", "receivedtime": "2026-11-23T10:00:00Z", "status": 503, "reason": "queue-unavailable",
            "errors": [], "method": "POST", "path": "/hooks/amlyze", "query": {"token": "[redacted]", "x": "1"},
            "sourceIp": "203.0.113.9",
            "headers": {"content-type": "application/json", "ce-id": "e1", "x-webhook-token": "[redacted]"},
            "body": "{\"customerExternalID\":\"c\"}"
        }))
        .unwrap()
    }

    #[test]
    fn finds_records_in_json_text_and_exported_lines() {
        let json = intake::quarantine::to_json(&record());
        let json_line = serde_json::json!({"level": "ERROR", "fields": {"message": "m", FIELD: json}}).to_string();
        let exported = format!("2026-11-23T10:00:01.000Z\t{json_line}");
        let text_line = format!(
            "ERROR Lambda runtime invoke: request could not be queued provider=amlyze {FIELD}={json} failure=x"
        );
        let log = [json_line.as_str(), "noise", exported.as_str(), text_line.as_str()].join("\n");
        let found = records_in_log(&log);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|r| *r == record()));
    }

    #[test]
    fn joins_a_record_logged_in_parts_whatever_its_order() {
        let mut big = record();
        big.body = "\"\\\u{1}é".repeat(50_000);
        let json = intake::quarantine::to_json(&big);
        let parts = intake::log::split_text(&json, intake::log::LOG_PART_BYTES);
        assert!(parts.len() > 2);
        let part_of = &intake::limits::sha256_hex(json.as_bytes())[..32];
        let mut lines: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let quoted = serde_json::to_string(part).unwrap();
                let fields =
                    serde_json::json!({"part_of": part_of, "part": i + 1, "parts": parts.len(), PART_FIELD: quoted});
                let line = serde_json::json!({"level": "ERROR", "fields": fields}).to_string();
                assert!(line.len() <= intake::limits::MAX_LOG_RECORD_BYTES, "{}", line.len());
                line
            })
            .collect();
        lines.reverse();
        lines.push(format!(
            "ERROR request could not be queued part_of=0123456789abcdef0123456789abcdef part=1 parts=2 {PART_FIELD}={}",
            serde_json::to_string("{\"incomplete").unwrap()
        ));
        let found = records_in_log(&lines.join("\n"));
        assert_eq!(found.len(), 1, "only the complete record");
        assert!(found[0] == big, "joined exactly");
    }

    #[test]
    fn rebuilds_the_request_without_redacted_values() {
        let (provider, incoming, received) = request_of(&record()).unwrap();
        assert_eq!(provider, Provider::Amlyze);
        assert_eq!(incoming.header("ce-id"), Some("e1"));
        assert!(incoming.headers.get("x-webhook-token").is_none());
        assert_eq!(incoming.query, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(incoming.body, b"{\"customerExternalID\":\"c\"}");
        assert_eq!(intake::timestamp::format_utc(received), "2026-11-23T10:00:00Z");
    }
}
