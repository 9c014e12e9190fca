//! Amlyze (AML screening) events: CloudEvents as Amlyze sent them (`id`,
//! `source`, `type`, `time` are the sender's). The data of
//! `com.amlyze.customer.updated` is typed ([`CustomerUpdated`]); other types
//! keep their data as it came.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_enum::{open_enum, OpenEnum};

/// The event type whose data is typed.
pub const CUSTOMER_UPDATED: &str = "com.amlyze.customer.updated";
/// The `provider` of Amlyze events: the vendor's name everywhere (route,
/// logs, metrics, the function binary). The `source` is Amlyze's own.
pub const PROVIDER: &str = "amlyze";

open_enum!(
    /// Amlyze `riskLevel`.
    RiskLevel {
        None => "NONE",
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        Extreme => "EXTREME",
    }
);

open_enum!(
    /// Amlyze `status`.
    ScreeningStatus {
        Active => "ACTIVE",
        Pending => "PENDING",
        Rejected => "REJECTED",
        Suspended => "SUSPENDED",
        Closed => "CLOSED",
    }
);

/// The `data` of `com.amlyze.customer.updated`. A screening flag the vendor
/// did not report is `null`: absent never means `false`. The vendor's
/// `updateAt` spelling arrives as `updatedAt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Amlyze customer.updated data"))]
#[serde(rename_all = "camelCase")]
pub struct CustomerUpdated {
    /// Your id for the customer; the event's `subject`. Never empty.
    #[serde(rename = "customerExternalID")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub customer_external_id: String,
    /// On a sanctions list. Absent: not reported (never read it as false).
    pub sanctioned: Option<bool>,
    /// A politically exposed person. Absent: not reported.
    pub pep: Option<bool>,
    /// Named in adverse media. Absent: not reported.
    pub in_adverse_media: Option<bool>,
    /// On the operator's own internal list. Absent: not reported.
    pub in_internal_list: Option<bool>,
    /// The screening's risk level (values may be added).
    pub risk_level: Option<RiskLevel>,
    /// The customer's screening status (values may be added).
    pub status: Option<ScreeningStatus>,
    /// As the sender wrote it (RFC 3339, any offset), from `updatedAt` or
    /// `updateAt`; `null` when it sent neither.
    pub updated_at: Option<String>,
    /// Fields Amlyze added after this build, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CustomerUpdated {
    /// The enum fields whose value this build does not know.
    pub fn unknown_enum_fields(&self) -> Vec<&'static str> {
        [
            ("riskLevel", self.risk_level.as_ref().is_none_or(OpenEnum::is_known)),
            ("status", self.status.as_ref().is_none_or(OpenEnum::is_known)),
        ]
        .into_iter()
        .filter_map(|(field, known)| (!known).then_some(field))
        .collect()
    }
}
