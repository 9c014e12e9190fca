//! One customer's timeline from the archive: every event whose subject (or
//! Artemis `customerId`) names the customer, and every quarantine record
//! whose request mentions it, oldest first, with what a compliance reader
//! looks at: when it arrived, from which vendor, status and risk.

use intake::kept::ArchivedMessage;
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
/// A record archived twice (byte for byte: Firehose delivers at least once,
/// and `recover` and `redrive` archive what they put back) is shown once.
pub fn timeline(messages: &[ArchivedMessage], customer: &Customer) -> Vec<Entry> {
    let mut seen = std::collections::HashSet::new();
    let mut entries: Vec<Entry> = messages
        .iter()
        .filter(|m| seen.insert((m.kind.as_str(), m.message.as_str())))
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
pub const LOCAL_ARCHIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local/archive.ndjson");

/// What the tools read from the archive, and what they left out.
#[derive(Debug, Default)]
pub struct ArchiveText {
    /// The NDJSON records read.
    pub text: String,
    /// What was left out, one line each for a person: objects outside the
    /// stream's layout, records filed under a kind that is not their own.
    pub skipped: Vec<String>,
}

/// The partition (`event` or `quarantine`) of a key the archive's stream
/// writes: `kind=<kind>/dt=<yyyy-MM-dd>/…` (template.yaml, the stream's
/// `Prefix`). Anything else (Firehose's `errors/`, or an object someone else
/// put) is not an archive record.
pub fn stream_partition(key: &str) -> Option<&str> {
    let (kind, rest) = key.strip_prefix("kind=")?.split_once('/')?;
    let (date, name) = rest.strip_prefix("dt=")?.split_once('/')?;
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let dated = time::Date::parse(date, date_format).is_ok();
    (matches!(kind, "event" | "quarantine") && dated && !name.is_empty()).then_some(kind)
}

/// The lines of an object under partition `kind` whose own `kind` is that
/// kind (the stream files each record by its own), and how many were not.
pub fn records_of_kind(text: &str, kind: &str) -> (String, usize) {
    let mut kept = String::new();
    let mut other = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let own = serde_json::from_str::<Value>(line).ok();
        if own.as_ref().and_then(|v| v["kind"].as_str()) == Some(kind) {
            kept.push_str(line);
            kept.push('\n');
        } else {
            other += 1;
        }
    }
    (kept, other)
}

/// The archive's NDJSON: from the S3 bucket ARCHIVE_BUCKET (AWS settings
/// from the environment) when it is set, only what the stream wrote there;
/// else from `files` (default [`LOCAL_ARCHIVE`]), an operator's own copies.
/// GZIP objects are gunzipped.
pub async fn read_archive(files: &[String]) -> Result<ArchiveText, String> {
    if let Ok(bucket) = std::env::var("ARCHIVE_BUCKET") {
        let config = platform::aws::tool_config().await;
        return read_bucket(&s3_client(&config), &bucket).await;
    }
    let files = if files.is_empty() {
        vec![LOCAL_ARCHIVE.to_owned()]
    } else {
        files.to_vec()
    };
    let mut text = String::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|err| format!("{file}: {err} (run make demo first)"))?;
        text.push_str(&platform::archive::object_text(&bytes)?);
    }
    Ok(ArchiveText {
        text,
        skipped: Vec::new(),
    })
}

/// The operator tools' S3 client. An S3-compatible endpoint on a host or IP
/// of its own (moto, in the tests) takes the bucket in the path, not in the
/// host name.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(config);
    if ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        s3 = s3.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// The records of `bucket` under the keys the stream writes, in key order.
pub async fn read_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<ArchiveText, String> {
    let keys = platform::archive::keys(s3, bucket, "").await?;
    let mut read = ArchiveText::default();
    let (mut failures, mut foreign) = (0, Vec::new());
    for key in keys {
        let Some(kind) = stream_partition(&key) else {
            if key.starts_with("errors/") {
                failures += 1;
            } else {
                foreign.push(key);
            }
            continue;
        };
        let text = platform::archive::object(s3, bucket, &key).await?;
        let (records, other) = records_of_kind(&text, kind);
        read.text.push_str(&records);
        if other > 0 {
            read.skipped.push(format!(
                "{other} lines of {key} that are not {kind} records (the stream files each record under its own kind)"
            ));
        }
    }
    if failures > 0 {
        read.skipped.push(format!(
            "{failures} objects under errors/: Firehose's delivery failures, not records (docs/operations.md, \"The archive\")"
        ));
    }
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
        read.skipped.push(format!(
            "{} objects the stream did not write (only kind=event|quarantine/dt=…/ is read): {}{}",
            foreign.len(),
            shown.join(", "),
            if foreign.len() > shown.len() { ", …" } else { "" }
        ));
    }
    Ok(read)
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
            intake::kept::brief(&e.id)
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

    #[test]
    fn a_record_archived_twice_is_shown_once() {
        let refused = serde_json::json!({"status": 503, "reason": "queue-unavailable", "requestId": "q1",
            "body": "{\"customerReferenceId\": \"CUST-1\"}"});
        let event =
            serde_json::json!({"type": "t", "id": "e1", "subject": "CUST-1", "provider": "artemis", "data": {}});
        let messages = vec![
            message("quarantine", "artemis", "2026-11-29T10:00:00Z", refused.clone()),
            message("event", "artemis", "2026-11-29T10:00:00Z", event.clone()),
            message("quarantine", "artemis", "2026-11-29T10:00:00Z", refused),
            message("event", "artemis", "2026-11-29T10:00:00Z", event),
        ];
        let customer = Customer {
            subject: Some("CUST-1".into()),
            customer_id: None,
        };
        let mut ids: Vec<String> = timeline(&messages, &customer).into_iter().map(|e| e.id).collect();
        ids.sort();
        assert_eq!(ids, ["e1", "q1"]);
    }

    #[test]
    fn only_the_streams_keys_are_archive_records() {
        assert_eq!(
            stream_partition("kind=event/dt=2026-12-04/stream-1-2026-12-04-10-00-00-abc.gz"),
            Some("event")
        );
        assert_eq!(stream_partition("kind=quarantine/dt=2026-12-04/x"), Some("quarantine"));
        for foreign in [
            "errors/processing-failed/dt=2026-12-04/x",
            "kind=other/dt=2026-12-04/x",
            "kind=event/dt=yesterday/x",
            "kind=event/dt=2026-12-04/",
            "kind=event/x",
            "forged/kind=event/dt=2026-12-04/x",
            "archive/x",
        ] {
            assert_eq!(stream_partition(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn a_record_filed_under_another_kind_is_left_out() {
        let text = "{\"kind\":\"event\",\"n\":1}\n{\"kind\":\"quarantine\",\"n\":2}\nnot json\n\n";
        let (kept, other) = records_of_kind(text, "event");
        assert_eq!(kept, "{\"kind\":\"event\",\"n\":1}\n");
        assert_eq!(other, 2);
    }
}
