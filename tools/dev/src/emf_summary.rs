//! What the dashboard will show, read locally: a per-vendor summary of the
//! EMF documents the functions wrote to their logs (counts by outcome and
//! reason, unknown enum values by field, the answer's latency), printed by
//! `make demo` and, on demand, `make metrics` after `make local`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// The totals of one vendor's metrics.
#[derive(Debug, Default, PartialEq)]
pub struct VendorMetrics {
    /// Each plain metric (`Accepted`, `Quarantined`, …), summed.
    pub counts: BTreeMap<String, f64>,
    /// `Rejected` by `reason`.
    pub refused: BTreeMap<String, u64>,
    /// `UnknownEnumValue` by `field`.
    pub unknown_enums: BTreeMap<String, u64>,
    /// Every `Latency` value, in milliseconds.
    pub latencies: Vec<f64>,
}

/// The metrics in `log`'s EMF documents, by vendor (`provider`).
pub fn read(log: &str) -> BTreeMap<String, VendorMetrics> {
    let mut vendors: BTreeMap<String, VendorMetrics> = BTreeMap::new();
    for document in log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()) {
        let Some(directives) = document["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        let Some(provider) = document["provider"].as_str() else {
            continue;
        };
        let vendor = vendors.entry(provider.to_owned()).or_default();
        for directive in directives {
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let Some(name) = metric["Name"].as_str() else { continue };
                let value = document[name].as_f64().unwrap_or(0.0);
                match (name, document["reason"].as_str(), document["field"].as_str()) {
                    ("Rejected", Some(reason), _) => *vendor.refused.entry(reason.to_owned()).or_default() += 1,
                    ("UnknownEnumValue", _, Some(field)) => {
                        *vendor.unknown_enums.entry(field.to_owned()).or_default() += 1
                    }
                    ("Latency", _, _) => vendor.latencies.push(value),
                    _ => *vendor.counts.entry(name.to_owned()).or_default() += value,
                }
            }
        }
    }
    vendors
}

/// The value below which `share` of `sorted` lies (nearest rank).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The summary as printed: one block per vendor.
pub fn render(vendors: &BTreeMap<String, VendorMetrics>) -> String {
    let mut out = String::from("\nmetrics (EMF, as the dashboard will show them)\n");
    for (vendor, metrics) in vendors {
        let counts: Vec<String> = metrics
            .counts
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        let _ = writeln!(out, "  {vendor}: {}", counts.join(", "));
        let _ = writeln!(out, "    refused by reason: {:?}", metrics.refused);
        let _ = writeln!(out, "    unknown enum values by field: {:?}", metrics.unknown_enums);
        let mut latencies = metrics.latencies.clone();
        latencies.sort_by(f64::total_cmp);
        if !latencies.is_empty() {
            let _ = writeln!(
                out,
                "    answer latency: p50 {:.1} ms, p99 {:.1} ms ({} requests)",
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                latencies.len()
            );
        }
    }
    out
}

/// The summary of what the local stack's functions logged (`.local/<name>.log`).
pub fn local() -> String {
    let logs = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.local");
    let texts: Vec<String> = intake::Provider::ALL
        .iter()
        .filter_map(|p| std::fs::read_to_string(logs.join(format!("{}.log", p.name()))).ok())
        .collect();
    render(&read(&texts.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_emf_lines_become_a_summary_per_vendor() {
        let log = [
            r#"{"Accepted":1,"Rejected":0,"Quarantined":0,"Latency":4.0,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["provider"]],"Metrics":[{"Name":"Accepted"},{"Name":"Rejected"},{"Name":"Quarantined"},{"Name":"Latency"}],"Namespace":"WebhookIntake"}]},"provider":"artemis"}"#,
            r#"{"Accepted":0,"Rejected":1,"Quarantined":1,"Latency":8.0,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["provider"]],"Metrics":[{"Name":"Accepted"},{"Name":"Rejected"},{"Name":"Quarantined"},{"Name":"Latency"}],"Namespace":"WebhookIntake"}]},"provider":"artemis"}"#,
            r#"{"Rejected":1,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["provider","reason"]],"Metrics":[{"Name":"Rejected"}],"Namespace":"WebhookIntake"}]},"provider":"artemis","reason":"invalid-event"}"#,
            r#"{"UnknownEnumValue":1,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["provider","field"]],"Metrics":[{"Name":"UnknownEnumValue"}],"Namespace":"WebhookIntake"}]},"provider":"amlyze","field":"riskLevel"}"#,
            r#"{"level":"INFO","fields":{"message":"accepted"}}"#,
            "not JSON at all",
        ]
        .join("\n");
        let vendors = read(&log);
        let artemis = &vendors["artemis"];
        assert_eq!(artemis.counts["Accepted"], 1.0);
        assert_eq!(artemis.counts["Quarantined"], 1.0);
        assert_eq!(
            artemis.counts["Rejected"], 1.0,
            "the main document's count, not the by-reason one"
        );
        assert_eq!(artemis.refused["invalid-event"], 1);
        assert_eq!(artemis.latencies, [4.0, 8.0]);
        assert_eq!(vendors["amlyze"].unknown_enums["riskLevel"], 1);
        let text = render(&vendors);
        assert!(
            text.contains("answer latency: p50 4.0 ms, p99 8.0 ms (2 requests)"),
            "{text}"
        );
        assert!(text.contains("\"invalid-event\": 1"), "{text}");
    }
}
