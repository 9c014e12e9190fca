//! Artemis (Cynopsis KYC) customer events: type
//! `co.cynopsis.artemis.customer.<action>` (`insert`, `update`, or a later
//! action, lower-cased), source `artemis`, subject `customerReferenceId`.
//! Artemis sends no event id and repeats itself: [`Customer::dedupe_parts`]
//! is the vendor's own idempotency key, which the queue carries hashed in the
//! `dedupekey` extension.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_enum::{open_enum, OpenEnum};

/// The prefix of every Artemis customer event type.
pub const TYPE_PREFIX: &str = "co.cynopsis.artemis.customer.";
/// The `provider` of Artemis events: the vendor's name everywhere (route,
/// logs, metrics, the function binary).
pub const PROVIDER: &str = "artemis";
/// The `source` of Artemis events (Artemis names none; its provider name).
pub const SOURCE: &str = PROVIDER;

open_enum!(
    /// Artemis `status`.
    CustomerStatus {
        Draft => "DRAFT",
        Pending => "PENDING",
        Cleared => "CLEARED",
        RequireUpdate => "REQUIRE_UPDATE",
        Rejected => "REJECTED",
        Accepted => "ACCEPTED",
    }
);

open_enum!(
    /// Artemis `riskRating`.
    RiskRating {
        Low => "LOW",
        MediumLow => "MEDIUM_LOW",
        Medium => "MEDIUM",
        MediumHigh => "MEDIUM_HIGH",
        High => "HIGH",
    }
);

open_enum!(
    /// Artemis `action`.
    Action {
        Insert => "INSERT",
        Update => "UPDATE",
    }
);

open_enum!(
    /// Artemis `customerType`.
    CustomerType {
        Individual => "INDIVIDUAL",
        Corporate => "CORPORATE",
    }
);

/// The documented fields, in the vendor's order.
pub const FIELDS: &[&str] = &[
    "customerId",
    "customerReferenceId",
    "profileReferenceId",
    "status",
    "riskRating",
    "action",
    "message",
    "customerType",
];

/// The `data` of an Artemis customer event: the vendor's field names, every
/// documented field present (`null` where null), unknown enum values
/// verbatim, fields the vendor added later kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Artemis customer event data"))]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Artemis's customer id; exact up to 2^64 − 1 (it can exceed 2^53, so
    /// read it as a 64-bit integer, not a double).
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 18446744073709551615_u64)))]
    pub customer_id: u64,
    /// Your reference for the customer; the event's `subject`.
    pub customer_reference_id: String,
    /// Shared across related customer records.
    pub profile_reference_id: String,
    /// The onboarding status (values may be added).
    pub status: CustomerStatus,
    /// `null` when Artemis has not rated the customer.
    pub risk_rating: Option<RiskRating>,
    /// `INSERT` when the customer was onboarded, `UPDATE` when a status changed (values may be added).
    pub action: Action,
    /// Free text; `null` for normal events.
    pub message: Option<String>,
    /// `INDIVIDUAL` or `CORPORATE` (values may be added).
    pub customer_type: CustomerType,
    /// Fields Artemis added after this build, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Customer {
    /// The vendor's idempotency key: customerId, action, status, riskRating.
    /// Equal for a repeat *and* for a return to an earlier state, so decide
    /// with your current state, not with a set of keys seen.
    pub fn dedupe_parts(&self) -> [Value; 5] {
        [
            Value::from(SOURCE),
            Value::from(self.customer_id),
            Value::from(self.action.as_str()),
            Value::from(self.status.as_str()),
            self.risk_rating
                .as_ref()
                .map_or(Value::Null, |r| Value::from(r.as_str())),
        ]
    }

    /// The enum fields whose value this build does not know.
    pub fn unknown_enum_fields(&self) -> Vec<&'static str> {
        [
            ("status", self.status.is_known()),
            ("riskRating", self.risk_rating.as_ref().is_none_or(OpenEnum::is_known)),
            ("action", self.action.is_known()),
            ("customerType", self.customer_type.is_known()),
        ]
        .into_iter()
        .filter_map(|(field, known)| (!known).then_some(field))
        .collect()
    }
}
