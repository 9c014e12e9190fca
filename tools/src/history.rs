//! One customer's timeline from the archive: every event whose subject (or
//! Artemis `customerId`) names the customer, and every quarantine record
//! whose request mentions it, oldest first, with what a compliance reader
//! looks at: when it arrived, from which vendor, status and risk.

use intake::archive::ArchivedMessage;
use serde_json::Value;

/// Which customer: an event `subject` (Artemis `customerReferenceId`, Amlyze
/// `customerExternalID`), or an Artemis `customerId`.
#[derive(Debug, Clone, Default)]
pub struct Customer {
    pub subject: Option<String>,
    pub customer_id: Option<String>,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub receivedtime: String,
    pub provider: String,
    pub kind: String,
    /// The event's type, or the refusal's HTTP status and reason.
    pub what: String,
    pub status: String,
    pub risk: String,
    pub id: String,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

impl Customer {
    fn names_event(&self, event: &Value) -> bool {
        let subject = self
            .subject
            .as_deref()
            .is_some_and(|s| event["subject"].as_str() == Some(s));
        let id = self
            .customer_id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok())
            .is_some_and(|id| event["provider"] == "artemis" && event["data"]["customerId"].as_u64() == Some(id));
        subject || id
    }

    fn named_in(&self, body: &str) -> bool {
        [&self.subject, &self.customer_id]
            .into_iter()
            .flatten()
            .any(|needle| !needle.is_empty() && body.contains(needle.as_str()))
    }
}

/// The timeline of `customer` in `messages`, oldest first (by reception).
pub fn timeline(messages: &[ArchivedMessage], customer: &Customer) -> Vec<Entry> {
    let mut entries: Vec<Entry> = messages
        .iter()
        .filter_map(|m| {
            let body: Value = serde_json::from_str(&m.message).ok()?;
            let entry = |what: String, status: String, risk: String, id: String| Entry {
                receivedtime: m.receivedtime.clone(),
                provider: m.provider.clone(),
                kind: m.kind.clone(),
                what,
                status,
                risk,
                id,
            };
            match m.kind.as_str() {
                "event" if customer.names_event(&body) => {
                    let data = &body["data"];
                    let risk = match &data["riskRating"] {
                        Value::Null => &data["riskLevel"],
                        rating => rating,
                    };
                    let mut risk = text(risk);
                    if data["sanctioned"] == Value::Bool(true) {
                        risk.push_str(" SANCTIONED");
                    }
                    Some(entry(
                        text(&body["type"]),
                        text(&data["status"]),
                        risk,
                        text(&body["id"]),
                    ))
                }
                "quarantine" if customer.named_in(body["body"].as_str().unwrap_or_default()) => Some(entry(
                    format!("refused {} {}", text(&body["status"]), text(&body["reason"])),
                    "-".to_owned(),
                    "-".to_owned(),
                    text(&body["requestId"]),
                )),
                _ => None,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.receivedtime.cmp(&b.receivedtime));
    entries
}

/// Where `make demo` leaves the local archive's records.
pub const LOCAL_ARCHIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/archive.ndjson");

/// The archive's NDJSON: from the S3 bucket ARCHIVE_BUCKET (under
/// ARCHIVE_PREFIX; AWS settings from the environment) when it is set, else
/// from `files` (default [`LOCAL_ARCHIVE`]); GZIP objects are gunzipped.
pub async fn read_archive(files: &[String]) -> Result<String, String> {
    if let Ok(bucket) = std::env::var("ARCHIVE_BUCKET") {
        let s3 = aws_sdk_s3::Client::new(&intake::aws::tool_config().await);
        let prefix = std::env::var("ARCHIVE_PREFIX").unwrap_or_default();
        return harness::archive::read_text(&s3, &bucket, &prefix).await;
    }
    let files = if files.is_empty() {
        vec![LOCAL_ARCHIVE.to_owned()]
    } else {
        files.to_vec()
    };
    let mut text = String::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|err| format!("{file}: {err} (run make demo first)"))?;
        text.push_str(&harness::archive::object_text(&bytes)?);
    }
    Ok(text)
}

/// The timeline as a table, for a person.
pub fn print(entries: &[Entry]) {
    println!(
        "{:<31} {:<8} {:<11} {:<38} {:<15} {:<20} id",
        "received", "vendor", "kind", "what", "status", "risk"
    );
    println!("{}", "-".repeat(144));
    for e in entries {
        println!(
            "{:<31} {:<8} {:<11} {:<38} {:<15} {:<20} {}",
            e.receivedtime,
            e.provider,
            e.kind,
            e.what,
            e.status,
            e.risk,
            intake::log::brief(&e.id)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, provider: &str, time: &str, body: Value) -> ArchivedMessage {
        ArchivedMessage {
            kind: kind.into(),
            provider: provider.into(),
            receivedtime: time.into(),
            request_id: "r".into(),
            message: body.to_string(),
        }
    }

    #[test]
    fn a_customers_events_and_refusals_oldest_first() {
        let messages = vec![
            message(
                "event",
                "artemis",
                "2026-11-29T10:00:02Z",
                serde_json::json!({"type": "co.cynopsis.artemis.customer.update", "id": "a2", "subject": "CUST-1",
                    "provider": "artemis", "data": {"customerId": 7, "status": "CLEARED", "riskRating": "LOW"}}),
            ),
            message(
                "event",
                "amlyze",
                "2026-11-29T10:00:01Z",
                serde_json::json!({"type": "com.amlyze.customer.updated", "id": "m1", "subject": "CUST-1",
                    "provider": "amlyze", "data": {"riskLevel": "HIGH", "sanctioned": true}}),
            ),
            message(
                "event",
                "artemis",
                "2026-11-29T10:00:00Z",
                serde_json::json!({"type": "t", "id": "other", "subject": "CUST-2", "provider": "artemis", "data": {}}),
            ),
            message(
                "quarantine",
                "artemis",
                "2026-11-29T10:00:03Z",
                serde_json::json!({"status": 400, "reason": "invalid-event", "requestId": "q1",
                    "body": "{\"customerReferenceId\": \"CUST-1\"}"}),
            ),
        ];
        let by_subject = timeline(
            &messages,
            &Customer {
                subject: Some("CUST-1".into()),
                customer_id: None,
            },
        );
        let ids: Vec<&str> = by_subject.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["m1", "a2", "q1"]);
        assert_eq!(by_subject[0].risk, "HIGH SANCTIONED");
        assert_eq!(by_subject[1].status, "CLEARED");
        assert_eq!(by_subject[2].what, "refused 400 invalid-event");
        let by_id = timeline(
            &messages,
            &Customer {
                subject: None,
                customer_id: Some("7".into()),
            },
        );
        assert_eq!(by_id.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a2"]);
    }
}
