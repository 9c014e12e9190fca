//! CloudWatch metrics in Embedded Metric Format: one JSON document per line
//! on stdout, which CloudWatch Logs turns into metrics (no API call, no
//! latency). Namespace `WebhookIntake`:
//!
//! | metric | dimensions | meaning |
//! |---|---|---|
//! | `Accepted` | provider | events SQS accepted |
//! | `Rejected` | provider; provider, reason | requests answered 4xx/5xx (reason: `invalid-event`, `forbidden-source`, …) |
//! | `Quarantined` | provider | requests the quarantine queue took |
//! | `EnqueueFailures` | provider | requests SQS did not take in time (503) |
//! | `SpilledToFallback` | provider | events the fallback queue in the other region took, because the local queue failed or was being skipped |
//! | `UnknownEnumValue` | provider, field | a vendor sent an enum value this build does not know (schema drift) |
//! | `Repeats` | provider | events whose vendor dedupe key this instance saw in the last 5 minutes (a resend, or a return to an earlier state: a FIFO queue keeps both, consumers decide) |
//! | `Latency` | provider | handler time, milliseconds |
//! | `Unarchived` | provider | archive records Firehose did not take; each is in the log as `unarchived_record` for `recover` |

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub(crate) const NAMESPACE: &str = "WebhookIntake";

/// What one request contributes to the metrics.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RequestMetrics {
    pub provider: &'static str,
    pub accepted: usize,
    pub rejected: Option<&'static str>,
    pub quarantined: bool,
    pub enqueue_failed: bool,
    /// Events the fallback queue took.
    pub spilled_to_fallback: usize,
    pub unknown_enum_fields: Vec<&'static str>,
    pub repeats: usize,
    pub latency_ms: f64,
    /// A wrong token behind the allowlist, not kept: this minute's budget was spent.
    pub unauthorized_not_kept: bool,
}

fn document(timestamp_ms: i64, dimensions: &[&str], metrics: &[(&str, &str)], values: Value) -> Value {
    let mut document = values;
    document["_aws"] = json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [dimensions],
            "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
        }]
    });
    document
}

impl RequestMetrics {
    /// The EMF documents for this request: one per dimension set.
    pub fn documents(&self, timestamp_ms: i64) -> Vec<Value> {
        let mut documents = vec![document(
            timestamp_ms,
            &["provider"],
            &[
                ("Accepted", "Count"),
                ("Rejected", "Count"),
                ("Quarantined", "Count"),
                ("EnqueueFailures", "Count"),
                ("SpilledToFallback", "Count"),
                ("Repeats", "Count"),
                ("Latency", "Milliseconds"),
            ],
            json!({
                "provider": self.provider,
                "Accepted": self.accepted,
                "Rejected": usize::from(self.rejected.is_some()),
                "Quarantined": usize::from(self.quarantined),
                "EnqueueFailures": usize::from(self.enqueue_failed),
                "SpilledToFallback": self.spilled_to_fallback,
                "Repeats": self.repeats,
                "Latency": self.latency_ms,
            }),
        )];
        if let Some(reason) = self.rejected {
            documents.push(document(
                timestamp_ms,
                &["provider", "reason"],
                &[("Rejected", "Count")],
                json!({"provider": self.provider, "reason": reason, "Rejected": 1}),
            ));
        }
        if self.unauthorized_not_kept {
            documents.push(document(
                timestamp_ms,
                &["provider"],
                &[("UnauthorizedNotKept", "Count")],
                json!({"provider": self.provider, "UnauthorizedNotKept": 1}),
            ));
        }
        for field in &self.unknown_enum_fields {
            documents.push(document(
                timestamp_ms,
                &["provider", "field"],
                &[("UnknownEnumValue", "Count")],
                json!({"provider": self.provider, "field": field, "UnknownEnumValue": 1}),
            ));
        }
        documents
    }

    /// Writes the documents, one line each (stdout, see [`write_lines`]).
    pub(crate) fn emit(&self) {
        let now = time::OffsetDateTime::now_utc();
        let timestamp_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        write_lines(&self.documents(timestamp_ms));
    }
}

/// Whether this process writes its metric documents to stderr.
static TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends this process's metric documents to stderr instead of stdout: for
/// the operator tools, whose stdout is their report. A function keeps
/// stdout, where Lambda's log stream (and so EMF) reads them.
pub fn metrics_to_stderr() {
    TO_STDERR.store(true, Ordering::Relaxed);
}

fn write_lines(documents: &[Value]) {
    let write = |out: &mut dyn Write| {
        for document in documents {
            let _ = writeln!(out, "{document}");
        }
    };
    if TO_STDERR.load(Ordering::Relaxed) {
        write(&mut std::io::stderr().lock());
    } else {
        write(&mut std::io::stdout().lock());
    }
}

/// Writes the `Unarchived` metric: `count` archive records of `provider`
/// that the archive did not take.
pub fn unarchived(provider: &str, count: usize) {
    let now = time::OffsetDateTime::now_utc();
    let document = unarchived_document((now.unix_timestamp_nanos() / 1_000_000) as i64, provider, count);
    write_lines(&[document]);
}

fn unarchived_document(timestamp_ms: i64, provider: &str, count: usize) -> Value {
    document(
        timestamp_ms,
        &["provider"],
        &[("Unarchived", "Count")],
        json!({"provider": provider, "Unarchived": count}),
    )
}

/// Dedupe keys this instance saw recently (SQS FIFO's window is 5 minutes);
/// bounded, so a busy instance never grows without limit.
#[derive(Debug)]
pub(crate) struct RecentKeys {
    seen: HashMap<String, Instant>,
    capacity: usize,
}

pub(crate) const REPEAT_WINDOW: Duration = Duration::from_secs(300);

impl RecentKeys {
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity,
        }
    }

    /// Records `key`; returns whether it was seen within the window.
    pub fn repeat(&mut self, key: &str, now: Instant) -> bool {
        let repeated = self
            .seen
            .get(key)
            .is_some_and(|at| now.duration_since(*at) < REPEAT_WINDOW);
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, at| now.duration_since(*at) < REPEAT_WINDOW);
            if self.seen.len() >= self.capacity {
                self.seen.clear();
            }
        }
        self.seen.insert(key.to_owned(), now);
        repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarchived_records_are_counted_per_provider() {
        let document = unarchived_document(1_795_000_000_000, "amlyze", 3);
        assert_eq!(document["provider"], "amlyze");
        assert_eq!(document["Unarchived"], 3);
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "Unarchived"
        );
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
    }

    #[test]
    fn documents_are_valid_emf() {
        let metrics = RequestMetrics {
            provider: "artemis",
            accepted: 1,
            rejected: None,
            unknown_enum_fields: vec!["status", "riskRating"],
            latency_ms: 3.5,
            ..RequestMetrics::default()
        };
        let documents = metrics.documents(1_795_000_000_000);
        assert_eq!(documents.len(), 3);
        let main = &documents[0];
        assert_eq!(main["_aws"]["Timestamp"], 1_795_000_000_000i64);
        assert_eq!(main["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            main["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"]])
        );
        // Every metric named in the directive has a value in the document.
        for metric in main["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
            assert!(main.get(metric["Name"].as_str().unwrap()).is_some(), "{metric}");
        }
        assert_eq!(documents[1]["field"], "status");
        assert_eq!(documents[1]["UnknownEnumValue"], 1);
        assert_eq!(documents[2]["field"], "riskRating");
    }

    #[test]
    fn rejections_carry_their_reason() {
        let metrics = RequestMetrics {
            provider: "amlyze",
            rejected: Some("invalid-event"),
            quarantined: true,
            ..RequestMetrics::default()
        };
        let documents = metrics.documents(0);
        assert!(documents.iter().all(|d| d.get("UnauthorizedNotKept").is_none()));
        let not_kept = RequestMetrics {
            unauthorized_not_kept: true,
            ..metrics.clone()
        };
        let extra = not_kept.documents(0);
        assert_eq!(extra.len(), documents.len() + 1);
        assert!(extra
            .iter()
            .any(|d| d["UnauthorizedNotKept"] == 1 && d["provider"] == "amlyze"));
        assert_eq!(documents[0]["Rejected"], 1);
        assert_eq!(documents[0]["Quarantined"], 1);
        assert_eq!(documents[1]["reason"], "invalid-event");
        assert_eq!(
            documents[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider", "reason"]])
        );
    }

    #[test]
    fn repeats_are_counted_within_the_window_and_memory_is_bounded() {
        let mut keys = RecentKeys::new(3);
        let start = Instant::now();
        assert!(!keys.repeat("a", start));
        assert!(keys.repeat("a", start + Duration::from_secs(10)));
        assert!(!keys.repeat("a", start + REPEAT_WINDOW + Duration::from_secs(11)));
        for key in ["b", "c", "d", "e"] {
            keys.repeat(key, start + REPEAT_WINDOW + Duration::from_secs(12));
        }
        assert!(keys.seen.len() <= 3);
    }
}
