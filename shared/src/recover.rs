//! Recovery of requests that no queue could take: the functions log each one
//! whole in an `unqueued_request` field (see [`crate::handler::keep`]); this
//! finds those records in a log and turns each back into a request.

use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Provider;
use crate::quarantine::{QuarantineRecord, REDACTED};
use crate::request::Incoming;

const FIELD: &str = "unqueued_request";

/// Every `unqueued_request` record in `log`: JSON log lines (as Lambda writes
/// them with `AWS_LAMBDA_LOG_FORMAT=JSON`, also when prefixed by a timestamp
/// as in a CloudWatch export) and text log lines (`unqueued_request={…}`).
pub fn records_in_log(log: &str) -> Vec<QuarantineRecord> {
    log.lines()
        .filter(|line| line.contains(FIELD))
        .filter_map(record_in_line)
        .collect()
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

/// The request a record holds, ready for [`crate::handler::accept`]: its
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
    let received = crate::timestamp::parse(&record.receivedtime).ok()?;
    let incoming = Incoming {
        method: Method::from_bytes(record.method.as_bytes()).unwrap_or(Method::POST),
        path: record.path.clone(),
        query,
        headers,
        source_ip: record.source_ip.clone(),
        body: record.body_bytes()?,
        trace_header: None,
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
        let json = record().to_json();
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
    fn rebuilds_the_request_without_redacted_values() {
        let (provider, incoming, received) = request_of(&record()).unwrap();
        assert_eq!(provider, Provider::Amlyze);
        assert_eq!(incoming.header("ce-id"), Some("e1"));
        assert!(incoming.headers.get("x-webhook-token").is_none());
        assert_eq!(incoming.query, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(incoming.body, b"{\"customerExternalID\":\"c\"}");
        assert_eq!(crate::timestamp::format_utc(received), "2026-11-23T10:00:00Z");
    }
}
