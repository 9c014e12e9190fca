//! What an applied event changed: the [`Transition`] between the stored
//! state and the state after the event, which transitions are alerts, and an
//! alert as a person reads it. Plain functions, no I/O.

use aws_sdk_dynamodb::types::AttributeValue;
use intake_queue::transition::{Alert, FieldChange, STATE_FIELDS};
use intake_queue::Transition;
use serde_json::{Map, Value};

use crate::change::Change;

/// The risk levels whose reaching is an alert, per vendor (`ALERT_RISK_LEVELS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    /// (vendor, level): a vendor's risk level reaching `level` is an alert.
    pub risk_levels: Vec<(String, String)>,
}

/// Each vendor's highest documented risk level: Artemis `riskRating` `HIGH`,
/// Amlyze `riskLevel` `EXTREME`.
pub const DEFAULT_ALERT_RISK_LEVELS: &str = "artemis:HIGH,amlyze:EXTREME";

impl Default for AlertRules {
    fn default() -> Self {
        Self::parse(DEFAULT_ALERT_RISK_LEVELS).unwrap_or(Self {
            risk_levels: Vec::new(),
        })
    }
}

impl AlertRules {
    /// `vendor:LEVEL` pairs separated by commas (`artemis:HIGH,amlyze:EXTREME`);
    /// a vendor may be named more than once. Levels are the vendors' open
    /// enums: a value this build does not know is taken as written. Empty:
    /// no risk level is an alert (sanctions and PEP hits still are).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut risk_levels = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (vendor, level) = pair
                .split_once(':')
                .ok_or_else(|| format!("{pair:?} is not vendor:LEVEL"))?;
            let (vendor, level) = (vendor.trim(), level.trim());
            if !intake_queue::PROVIDERS.contains(&vendor) {
                return Err(format!(
                    "{vendor:?} is not a vendor (one of {:?})",
                    intake_queue::PROVIDERS
                ));
            }
            if level.is_empty() {
                return Err(format!("{pair:?} names no level"));
            }
            risk_levels.push((vendor.to_owned(), level.to_owned()));
        }
        Ok(Self { risk_levels })
    }

    fn is_alert_level(&self, vendor: &str, level: &Value) -> bool {
        self.risk_levels
            .iter()
            .any(|(v, l)| v == vendor && level.as_str() == Some(l.as_str()))
    }
}

/// The state fields a transition reports for `vendor`.
pub fn state_fields(vendor: &str) -> &'static [&'static str] {
    STATE_FIELDS
        .iter()
        .find(|(v, _)| *v == vendor)
        .map(|(_, fields)| *fields)
        .unwrap_or(&[])
}

/// A stored attribute as JSON (strings, flags, numbers).
pub fn to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(n.clone())),
        _ => Value::Null,
    }
}

/// The state fields of a stored state item (empty for a new customer).
pub fn stored_fields(
    vendor: &str,
    item: Option<&std::collections::HashMap<String, AttributeValue>>,
) -> Map<String, Value> {
    let Some(item) = item else { return Map::new() };
    state_fields(vendor)
        .iter()
        .filter_map(|field| item.get(*field).map(|v| ((*field).to_owned(), to_json(v))))
        .collect()
}

/// The transition `change` makes from `old` (the stored state fields) as
/// the state's `version`-th applied event; `None` when no state field
/// changes (only times or fields a transition does not report).
pub fn between(
    old: &Map<String, Value>,
    change: &Change,
    version: u64,
    applied_at: &str,
    rules: &AlertRules,
) -> Option<Transition> {
    let fields = state_fields(&change.provider);
    let mut new = old.clone();
    for (field, value) in &change.set {
        if !fields.contains(field) {
            continue;
        }
        match value {
            Some(value) => new.insert((*field).to_owned(), to_json(value)),
            None => new.remove(*field),
        };
    }
    let changes: Vec<FieldChange> = fields
        .iter()
        .filter(|field| old.get(**field) != new.get(**field))
        .map(|field| FieldChange {
            field: (*field).to_owned(),
            old: old.get(*field).cloned().unwrap_or(Value::Null),
            new: new.get(*field).cloned().unwrap_or(Value::Null),
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    let alerts = alerts(&change.provider, &changes, rules);
    let changes = changes
        .into_iter()
        .map(|c| FieldChange {
            old: bounded(c.old),
            new: bounded(c.new),
            ..c
        })
        .collect();
    Some(Transition {
        id: transition_id(&change.pk, &change.event_id),
        vendor: change.provider.clone(),
        subject: cut(&change.subject),
        event_id: cut(&change.event_id),
        event_type: cut(&change.event_type),
        event_time: change.event_time.clone(),
        received_time: change.received_time.clone(),
        applied_at: applied_at.to_owned(),
        version,
        changes,
        state: new.into_iter().map(|(k, v)| (k, bounded(v))).collect(),
        alerts,
    })
}

/// The longest text a transition carries for one value or id, in bytes: a
/// transition stays far under SNS's message size (256 KiB by default) and a
/// DynamoDB item's (400 KB), whatever the vendor sent. The state table and
/// the archive keep the exact values.
pub const MAX_VALUE_BYTES: usize = 1024;

fn cut(text: &str) -> String {
    if text.len() > MAX_VALUE_BYTES {
        platform::sqs::truncate(text, MAX_VALUE_BYTES)
    } else {
        text.to_owned()
    }
}

fn bounded(value: Value) -> Value {
    match value {
        Value::String(text) if text.len() > MAX_VALUE_BYTES => Value::String(cut(&text)),
        other => other,
    }
}

/// The same for every copy: one customer's state key and the event's id.
pub fn transition_id(pk: &str, event_id: &str) -> String {
    platform::sqs::sha256_hex(format!("{pk}\n{event_id}").as_bytes())
}

/// What in `changes` became an alert: a flag that became `true`, a risk
/// level that became an alert level.
fn alerts(vendor: &str, changes: &[FieldChange], rules: &AlertRules) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for change in changes {
        let became_true = change.new == Value::Bool(true);
        match change.field.as_str() {
            "sanctioned" if became_true => alerts.push(Alert::Sanctioned),
            "pep" if became_true => alerts.push(Alert::Pep),
            "riskRating" | "riskLevel" if rules.is_alert_level(vendor, &change.new) => alerts.push(Alert::HighestRisk),
            _ => {}
        }
    }
    alerts
}

/// Where an operator looks next, in an alert: the stack's saved Athena
/// query when the stack is known.
#[derive(Debug, Clone, Default)]
pub struct Pointers {
    /// `STACK_NAME`: names the saved query and its workgroup.
    pub stack: Option<String>,
}

/// An alert as an email shows it: a subject line (ASCII, one line, fewer
/// than 100 characters: SNS's Publish API takes "less than 100 characters",
/// no line breaks or control characters) and a short text. Only the vendor,
/// the customer's ids, what changed and when: no name, no document, no
/// vendor data.
pub fn alert_message(transition: &Transition, pointers: &Pointers) -> (String, String) {
    let reasons: Vec<&str> = transition
        .alerts
        .iter()
        .map(|a| match a {
            Alert::Sanctioned => "sanctioned",
            Alert::Pep => "a PEP",
            Alert::HighestRisk => "highest risk",
        })
        .collect();
    let became = reasons.join(", ");
    let subject: String = format!("KYC/AML alert: {} customer became {became}", transition.vendor)
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(99)
        .collect();
    let customer_id = transition
        .state
        .get("customerId")
        .map(|id| format!(" (customer id {id})"))
        .unwrap_or_default();
    let mut text = format!(
        "{} customer {}{customer_id} became {became}.\n\nWhat changed (state version {}):\n",
        transition.vendor, transition.subject, transition.version
    );
    for change in &transition.changes {
        text.push_str(&format!("  {}: {} -> {}\n", change.field, change.old, change.new));
    }
    text.push_str(&format!(
        "\nEvent {} ({}), event time {}, received {}, applied {}.\n\nWhere to look:\n  make history SUBJECT={}   (this customer's timeline in the archive)\n",
        transition.event_id,
        transition.event_type,
        transition.event_time,
        transition.received_time,
        transition.applied_at,
        transition.subject,
    ));
    if let Some(stack) = &pointers.stack {
        text.push_str(&format!(
            "  Athena: the saved query \"{stack}: one customer's history\" in the workgroup {stack}-archive\n"
        ));
    }
    text.push_str(&format!("\nTransition {} (deduplicate on it).\n", transition.id));
    // Delivered as it is to email and to SQS subscriptions: only characters SQS takes.
    let text = text
        .chars()
        .map(|c| if platform::sqs::is_sqs_char(c) { c } else { '\u{FFFD}' })
        .collect();
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(provider: &str, set: Vec<(&'static str, Option<AttributeValue>)>) -> Change {
        Change {
            pk: format!("{provider}#C-1"),
            provider: provider.to_owned(),
            subject: "C-1".to_owned(),
            event_id: "e-1".to_owned(),
            event_type: "t".to_owned(),
            event_time: "2026-11-24T10:00:00Z".to_owned(),
            received_time: "2026-11-24T10:00:01Z".to_owned(),
            dedupekey: "d".to_owned(),
            order_key: "o".to_owned(),
            data: "{}".to_owned(),
            set,
        }
    }

    fn state(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn a_new_customer_changes_every_field_it_reports_from_null() {
        let c = change(
            "amlyze",
            vec![
                ("sanctioned", Some(AttributeValue::Bool(false))),
                ("riskLevel", Some(AttributeValue::S("LOW".into()))),
            ],
        );
        let t = between(&Map::new(), &c, 1, "now", &AlertRules::default()).expect("a transition");
        let fields: Vec<_> = t
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.clone(), c.new.clone()))
            .collect();
        assert_eq!(
            fields,
            [
                ("sanctioned", Value::Null, Value::Bool(false)),
                ("riskLevel", Value::Null, Value::from("LOW"))
            ]
        );
        assert!(t.alerts.is_empty());
        assert_eq!(t.id, transition_id("amlyze#C-1", "e-1"));
        assert_eq!(t.id.len(), 64);
    }

    #[test]
    fn only_times_or_the_same_values_make_no_transition() {
        let old = state(&[("riskLevel", Value::from("LOW")), ("pep", Value::Bool(false))]);
        let c = change(
            "amlyze",
            vec![
                ("riskLevel", Some(AttributeValue::S("LOW".into()))),
                ("updatedAt", Some(AttributeValue::S("2026-11-24T10:00:00Z".into()))),
            ],
        );
        assert_eq!(between(&old, &c, 2, "now", &AlertRules::default()), None);
    }

    #[test]
    fn becoming_sanctioned_pep_or_the_alert_level_is_an_alert_and_staying_is_not() {
        let rules = AlertRules::default();
        let old = state(&[("sanctioned", Value::Bool(false)), ("riskLevel", Value::from("HIGH"))]);
        let c = change(
            "amlyze",
            vec![
                ("sanctioned", Some(AttributeValue::Bool(true))),
                ("pep", Some(AttributeValue::Bool(true))),
                ("riskLevel", Some(AttributeValue::S("EXTREME".into()))),
            ],
        );
        let t = between(&old, &c, 5, "now", &rules).unwrap();
        assert_eq!(t.alerts, [Alert::Sanctioned, Alert::Pep, Alert::HighestRisk]);
        // Already sanctioned, still EXTREME, PEP now false: a change, no alert.
        let now_state = t.state.clone();
        let again = change(
            "amlyze",
            vec![
                ("sanctioned", Some(AttributeValue::Bool(true))),
                ("pep", Some(AttributeValue::Bool(false))),
                ("riskLevel", Some(AttributeValue::S("EXTREME".into()))),
            ],
        );
        let t = between(&now_state, &again, 6, "now", &rules).unwrap();
        assert_eq!(t.changes.len(), 1);
        assert!(t.alerts.is_empty());
        // Artemis: HIGH is the default alert level; a setting can add another.
        let artemis = change(
            "artemis",
            vec![("riskRating", Some(AttributeValue::S("MEDIUM_HIGH".into())))],
        );
        assert!(between(&Map::new(), &artemis, 1, "now", &rules)
            .unwrap()
            .alerts
            .is_empty());
        let wider = AlertRules::parse("artemis:HIGH, artemis:MEDIUM_HIGH").unwrap();
        assert_eq!(
            between(&Map::new(), &artemis, 1, "now", &wider).unwrap().alerts,
            [Alert::HighestRisk]
        );
    }

    #[test]
    fn a_removed_field_changes_to_null() {
        let old = state(&[("riskRating", Value::from("LOW")), ("status", Value::from("PENDING"))]);
        let c = change(
            "artemis",
            vec![
                ("status", Some(AttributeValue::S("PENDING".into()))),
                ("riskRating", None),
            ],
        );
        let t = between(&old, &c, 2, "now", &AlertRules::default()).unwrap();
        assert_eq!(t.changes.len(), 1);
        assert_eq!(
            (t.changes[0].old.clone(), t.changes[0].new.clone()),
            (Value::from("LOW"), Value::Null)
        );
        assert!(!t.state.contains_key("riskRating"));
    }

    #[test]
    fn the_alert_levels_setting_names_known_vendors_and_levels() {
        assert_eq!(AlertRules::parse("").unwrap().risk_levels, []);
        assert!(AlertRules::parse("artemis").is_err());
        assert!(AlertRules::parse("acme:HIGH").is_err());
        assert!(AlertRules::parse("amlyze:").is_err());
        assert_eq!(
            AlertRules::default().risk_levels,
            [
                ("artemis".to_owned(), "HIGH".to_owned()),
                ("amlyze".to_owned(), "EXTREME".to_owned())
            ]
        );
    }

    #[test]
    fn an_alert_reads_as_text_with_the_ids_what_changed_and_where_to_look() {
        let c = change("amlyze", vec![("sanctioned", Some(AttributeValue::Bool(true)))]);
        let t = between(&Map::new(), &c, 1, "2026-11-24T10:00:02Z", &AlertRules::default()).unwrap();
        let (subject, text) = alert_message(
            &t,
            &Pointers {
                stack: Some("intake".into()),
            },
        );
        assert_eq!(subject, "KYC/AML alert: amlyze customer became sanctioned");
        assert!(subject.len() < 100);
        for expected in [
            "amlyze customer C-1 became sanctioned.",
            "sanctioned: null -> true",
            "make history SUBJECT=C-1",
            "\"intake: one customer's history\" in the workgroup intake-archive",
            &t.id,
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
    }
}
