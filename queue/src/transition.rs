//! The transitions topic: one message each time the reference consumer
//! (`customer-state`) applies an event that changes what a customer's state
//! says (a status, a risk level, a screening flag). Repeats, redeliveries and
//! stale events publish nothing.
//!
//! Each message carries SNS message attributes ([`Transition::attributes`])
//! that subscription filter policies match on, so that a subscriber receives
//! only what it acts on ("risk changed", "became sanctioned").
//!
//! Delivery is at least once: a consumer that failed after publishing
//! publishes the same transition again, with the same [`Transition::id`]. A
//! FIFO topic drops that copy (the id is its deduplication id, five minutes);
//! on a standard topic, subscribers deduplicate on `id` and order one
//! customer's transitions by `version`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The fields of a customer's state that a transition reports, per vendor,
/// in the order a transition lists them. Times (Amlyze `updatedAt`) change
/// with every event and are not part of a transition.
pub const STATE_FIELDS: &[(&str, &[&str])] = &[
    (
        crate::artemis::PROVIDER,
        &["status", "riskRating", "customerType", "customerId"],
    ),
    (
        crate::amlyze::PROVIDER,
        &[
            "sanctioned",
            "pep",
            "inAdverseMedia",
            "inInternalList",
            "riskLevel",
            "screeningStatus",
        ],
    ),
];

/// The names of the message attributes, for filter policies.
pub mod attribute {
    /// `artemis` or `amlyze`.
    pub const VENDOR: &str = "vendor";
    /// String.Array: the names of the fields that changed.
    pub const CHANGED: &str = "changed";
    /// The risk level after the change (Artemis `riskRating`, Amlyze
    /// `riskLevel`), when the state has one.
    pub const RISK: &str = "risk";
    /// The status after the change (Artemis `status`, Amlyze `status`, kept
    /// as `screeningStatus`), when the state has one.
    pub const STATUS: &str = "status";
    /// `true` or `false`, when the vendor reported it (Amlyze).
    pub const SANCTIONED: &str = "sanctioned";
    /// `true` or `false`, when the vendor reported it (Amlyze).
    pub const PEP: &str = "pep";
    /// String.Array, only on an alert: why ([`super::Alert`]).
    pub const ALERT: &str = "alert";
}

/// One change of one customer's state at one vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Customer state transition"))]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// The same for every copy of this transition (64 hex digits): a FIFO
    /// topic's deduplication id, and what subscribers deduplicate on.
    pub id: String,
    /// The vendor: `artemis` or `amlyze`.
    pub vendor: String,
    /// The customer at that vendor (the event's `subject`).
    pub subject: String,
    /// The event that made the change (its CloudEvents `id` on the events queue).
    pub event_id: String,
    /// Its CloudEvents `type`.
    pub event_type: String,
    /// Its `time` (RFC 3339).
    pub event_time: String,
    /// When the intake received it (RFC 3339).
    pub received_time: String,
    /// When the consumer applied it (RFC 3339, UTC).
    pub applied_at: String,
    /// The state's version after the change: how many events of this
    /// customer were applied (1 for the first). Orders one customer's
    /// transitions.
    pub version: u64,
    /// The fields that changed, in [`STATE_FIELDS`] order; never empty.
    pub changes: Vec<FieldChange>,
    /// Every state field after the change (those the state has).
    pub state: serde_json::Map<String, Value>,
    /// Why this transition is an alert (empty when it is not).
    pub alerts: Vec<Alert>,
}

/// One field's old and new value (`null`: the state did not have it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldChange {
    /// The field's name, as in [`STATE_FIELDS`].
    pub field: String,
    /// Before (`null` when the state did not have it: a new customer, or a
    /// field the vendor had not reported).
    pub old: Value,
    /// After (`null` when the vendor removed it).
    pub new: Value,
}

/// Why a transition needs a person's attention now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Alert {
    /// `sanctioned` became `true`.
    Sanctioned,
    /// `pep` became `true`.
    Pep,
    /// The risk level became one of the alert levels (a setting; by default
    /// each vendor's highest: Artemis `HIGH`, Amlyze `EXTREME`).
    HighestRisk,
}

impl Alert {
    /// Its name, as the `alert` attribute and the JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sanctioned => "sanctioned",
            Self::Pep => "pep",
            Self::HighestRisk => "highestRisk",
        }
    }
}

/// A message attribute's value: SNS's `String` or `String.Array`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// `DataType: String`.
    String(String),
    /// `DataType: String.Array` (sent as a JSON array of strings).
    Array(Vec<String>),
}

impl AttributeValue {
    /// SNS's data type name.
    pub fn data_type(&self) -> &'static str {
        match self {
            Self::String(_) => "String",
            Self::Array(_) => "String.Array",
        }
    }

    /// The value as SNS takes it (a JSON array's text for `String.Array`).
    pub fn text(&self) -> String {
        match self {
            Self::String(text) => text.clone(),
            Self::Array(items) => serde_json::to_string(items).unwrap_or_default(),
        }
    }
}

impl Transition {
    /// The message attributes to publish with it, for filter policies: at
    /// most 7, under SNS's 10 for raw delivery to SQS. An attribute whose
    /// value the state does not have is left out.
    pub fn attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        let text = |field: &str| match self.state.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        let (risk, status) = if self.vendor == crate::artemis::PROVIDER {
            (text("riskRating"), text("status"))
        } else {
            (text("riskLevel"), text("screeningStatus"))
        };
        let mut attributes = vec![
            (attribute::VENDOR, AttributeValue::String(self.vendor.clone())),
            (
                attribute::CHANGED,
                AttributeValue::Array(self.changes.iter().map(|c| c.field.clone()).collect()),
            ),
        ];
        let optional = [
            (attribute::RISK, risk),
            (attribute::STATUS, status),
            (attribute::SANCTIONED, text("sanctioned")),
            (attribute::PEP, text("pep")),
        ];
        attributes.extend(optional.into_iter().filter_map(|(name, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| (name, AttributeValue::String(v)))
        }));
        if !self.alerts.is_empty() {
            attributes.push((
                attribute::ALERT,
                AttributeValue::Array(self.alerts.iter().map(|a| a.as_str().to_owned()).collect()),
            ));
        }
        attributes
    }

    /// Reads a transitions-topic message (raw delivery: the body is the JSON).
    pub fn from_json(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}
