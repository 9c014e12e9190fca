//! Recovery of requests that no queue could take: the functions log each one
//! whole in an `unqueued_request` field, or, when large, in numbered
//! `unqueued_request_part` records; this finds those records in a log, joins
//! the parts, and turns each back into a request for [`intake::App::rerun`].

use std::collections::BTreeMap;

use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use time::OffsetDateTime;

use intake::kept::QuarantineRecord;
use intake::kept::REDACTED;
use intake::pipeline::Incoming;
use intake::Provider;

const FIELD: &str = "unqueued_request";
const PART_FIELD: &str = "unqueued_request_part";
const ARCHIVE_FIELD: &str = "unarchived_record";
const ARCHIVE_PART_FIELD: &str = "unarchived_record_part";

/// One numbered part of a value logged in parts.
struct Part {
    part_of: String,
    part: usize,
    parts: usize,
    text: String,
}

/// Every unqueued request in `log`: JSON log lines (as Lambda writes them with
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, also when prefixed by a timestamp as in a
/// CloudWatch export) and text log lines (`unqueued_request={…}`, Lambda's
/// default Text format, colours or not), with records logged in parts joined
/// again (a record missing a part, or whose parts do not add up to the digest
/// they name, is left out).
pub fn records_in_log(log: &str) -> Vec<QuarantineRecord> {
    values_in_log(log, FIELD, PART_FIELD)
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect()
}

/// Why a kept request must not go through the pipeline until a person has
/// vouched for it (`recover --vouched`; `redrive` never takes them):
/// `unauthorized` (the caller's token was wrong: it passed no check) and
/// `unreadable-event` (a whole Lambda event no front door could read, so
/// neither its source nor its token could be checked).
pub fn needs_a_person(record: &QuarantineRecord) -> Option<&'static str> {
    match record.reason.as_str() {
        "unauthorized" => Some("unauthorized"),
        "unreadable-event" => Some("unreadable-event"),
        _ => None,
    }
}

/// Every archive record the functions logged as `unarchived_record` (whole or
/// in parts), as the NDJSON line to put back into the archive.
pub fn unarchived_in_log(log: &str) -> Vec<String> {
    values_in_log(log, ARCHIVE_FIELD, ARCHIVE_PART_FIELD)
        .into_iter()
        .filter(|line| serde_json::from_str::<Value>(line).is_ok())
        .collect()
}

/// The values logged in `field`, or in numbered `part_field` records, joined.
fn values_in_log(log: &str, field: &str, part_field: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut parted: BTreeMap<String, (usize, BTreeMap<usize, String>)> = BTreeMap::new();
    for line in log.lines() {
        let line = without_colours(line);
        if line.contains(part_field) {
            if let Some(part) = part_in_line(&line, part_field) {
                let entry = parted
                    .entry(part.part_of)
                    .or_insert_with(|| (part.parts, BTreeMap::new()));
                entry.1.insert(part.part, part.text);
            }
        } else if line.contains(field) {
            values.extend(value_in_line(&line, field));
        }
    }
    for (part_of, (parts, pieces)) in parted {
        let complete = pieces.len() == parts && pieces.keys().copied().eq(1..=parts);
        let json: String = pieces.into_values().collect();
        if complete && platform::sqs::sha256_hex(json.as_bytes()).starts_with(&part_of) {
            values.push(json);
        }
    }
    values
}

/// `line` without ANSI colour codes (`ESC [ … m`), which the Text log format
/// writes around field names.
fn without_colours(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn part_in_line(line: &str, part_field: &str) -> Option<Part> {
    // JSON line: the fields sit together in one object.
    if let Some(start) = line.find('{') {
        if let Ok(value) = serde_json::from_str::<Value>(&line[start..]) {
            if let Some(fields) = object_with(&value, part_field) {
                let number = |key: &str| fields.get(key).and_then(Value::as_u64).map(|n| n as usize);
                let quoted = fields.get(part_field)?.as_str()?;
                return Some(Part {
                    part_of: fields.get("part_of")?.as_str()?.to_owned(),
                    part: number("part")?,
                    parts: number("parts")?,
                    text: serde_json::from_str(quoted).ok()?,
                });
            }
        }
    }
    // Text line: `part_of=… part=… parts=… unqueued_request_part="…"`. Older
    // builds logged `part_of` as a quoted string: quotes are taken off.
    let value_after = |key: &str| {
        let start = line.find(&format!(" {key}="))? + key.len() + 2;
        line[start..].split_whitespace().next().map(|v| v.trim_matches('"'))
    };
    let start = line.find(&format!("{part_field}="))? + part_field.len() + 1;
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

/// The JSON text logged in `field` on one line.
fn value_in_line(line: &str, field: &str) -> Option<String> {
    // JSON line: the value is a string field somewhere in the object.
    if let Some(start) = line.find('{') {
        if let Ok(value) = serde_json::from_str::<Value>(&line[start..]) {
            if let Some(text) = find_field(&value, field) {
                return Some(text.to_owned());
            }
        }
    }
    // Text line: `field={...}` followed by other fields.
    let start = line.find(&format!("{field}="))? + field.len() + 1;
    let mut values = serde_json::Deserializer::from_str(&line[start..]).into_iter::<&serde_json::value::RawValue>();
    values.next()?.ok().map(|raw| raw.get().to_owned())
}

fn find_field<'v>(value: &'v Value, field: &str) -> Option<&'v str> {
    match value {
        Value::Object(map) => map
            .get(field)
            .and_then(Value::as_str)
            .or_else(|| map.values().find_map(|v| find_field(v, field))),
        _ => None,
    }
}

/// The provider an archive record names.
pub fn provider_of_archive_record(line: &str) -> Option<Provider> {
    let value: Value = serde_json::from_str(line).ok()?;
    Provider::from_name(value["provider"].as_str()?)
}

/// An archive record in a few words, for the tools' output: kind, provider,
/// request id, reception time, and the part when it is one.
pub fn describe_archive_record(line: &str) -> String {
    let value: Value = serde_json::from_str(line).unwrap_or_default();
    let text = |key: &str| value[key].as_str().map(intake::kept::brief).unwrap_or_default();
    let part = match (value["part"].as_u64(), value["parts"].as_u64()) {
        (Some(part), Some(parts)) => format!(" part {part}/{parts}"),
        _ => String::new(),
    };
    format!(
        "{} {} request {} received {}{part}",
        text("kind"),
        text("provider"),
        text("requestId"),
        text("receivedtime")
    )
}

/// The request a record holds, ready for [`intake::App::rerun`]: its
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
    let received = platform::timestamp::parse(&record.receivedtime).ok()?;
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
        let json = intake::kept::to_json(&record());
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
        let json = intake::kept::to_json(&big);
        let parts = intake::kept::split_text(&json, intake::kept::LOG_PART_BYTES);
        assert!(parts.len() > 2);
        let part_of = &platform::sqs::sha256_hex(json.as_bytes())[..32];
        let mut lines: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let quoted = serde_json::to_string(part).unwrap();
                let fields =
                    serde_json::json!({"part_of": part_of, "part": i + 1, "parts": parts.len(), PART_FIELD: quoted});
                let line = serde_json::json!({"level": "ERROR", "fields": fields}).to_string();
                assert!(line.len() <= platform::sqs::MAX_LOG_RECORD_BYTES, "{}", line.len());
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
    fn reads_text_lines_with_colours_and_a_quoted_part_of() {
        // Lambda's Text format (tracing's default formatter) colours field
        // names; builds before the archive logged `part_of` quoted.
        let mut big = record();
        big.body = "x\\\"".repeat(40_000);
        let json = intake::kept::to_json(&big);
        let parts = intake::kept::log_parts(&json).unwrap();
        let log: Vec<String> = parts
            .iter()
            .map(|p| {
                format!(
                    "\u{1b}[31mERROR\u{1b}[0m request could not be queued \u{1b}[3mpart_of\u{1b}[0m\u{1b}[2m=\u{1b}[0m\"{}\" \u{1b}[3mpart\u{1b}[0m\u{1b}[2m=\u{1b}[0m{} \u{1b}[3mparts\u{1b}[0m\u{1b}[2m=\u{1b}[0m{} \u{1b}[3m{PART_FIELD}\u{1b}[0m\u{1b}[2m=\u{1b}[0m{}",
                    p.part_of, p.number, p.count, p.quoted
                )
            })
            .collect();
        let found = records_in_log(&log.join("\n"));
        assert_eq!(found.len(), 1);
        assert!(found[0] == big);
    }

    #[test]
    fn finds_unarchived_records_whole_and_in_parts() {
        let small = r#"{"kind":"event","provider":"artemis","receivedtime":"t","requestId":"r","message":{"id":"e"}}"#;
        let big = format!(
            r#"{{"kind":"quarantine","provider":"amlyze","receivedtime":"t","requestId":"r2","message":{{"body":"{}"}}}}"#,
            "é\\\"".repeat(30_000)
        );
        let mut lines = vec![serde_json::json!({"fields": {ARCHIVE_FIELD: small}}).to_string()];
        for part in intake::kept::log_parts(&big).unwrap() {
            lines.push(format!(
                "ERROR the archive did not take this record part_of={} part={} parts={} {ARCHIVE_PART_FIELD}={}",
                part.part_of, part.number, part.count, part.quoted
            ));
        }
        let found = unarchived_in_log(&lines.join("\n"));
        assert_eq!(found, vec![small.to_owned(), big]);
        assert_eq!(provider_of_archive_record(small), Some(Provider::Artemis));
        assert_eq!(describe_archive_record(small), "event artemis request r received t");
    }

    #[test]
    fn rebuilds_the_request_without_redacted_values() {
        let (provider, incoming, received) = request_of(&record()).unwrap();
        assert_eq!(provider, Provider::Amlyze);
        assert_eq!(incoming.header("ce-id"), Some("e1"));
        assert!(incoming.headers.get("x-webhook-token").is_none());
        assert_eq!(incoming.query, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(incoming.body, b"{\"customerExternalID\":\"c\"}");
        assert_eq!(platform::timestamp::format_utc(received), "2026-11-23T10:00:00Z");
    }
}
