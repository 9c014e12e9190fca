//! Artemis (Cynopsis KYC) customer callbacks: one plain JSON object per
//! request, sent with POST, PUT or PATCH. Artemis never retries and sends no
//! event id.

use lambda_http::http::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::envelope::{dedupe_key, CloudEvent};
use crate::fields::{expect_object, Fields, Presence};
use crate::open_enum::OpenEnum;
use crate::problem::FieldError;
use crate::request::Incoming;
use crate::strict_json::parse_strict;
use crate::timestamp::format_utc;
use crate::vendor::{Parsed, Vendor};

/// The Artemis vendor ([`crate::Provider::Artemis`]).
pub struct Artemis;

impl Vendor for Artemis {
    fn name(&self) -> &'static str {
        "artemis"
    }

    fn methods(&self) -> &'static [Method] {
        const METHODS: &[Method] = &[Method::POST, Method::PUT, Method::PATCH];
        METHODS
    }

    fn parse(&self, request: &Incoming, received: OffsetDateTime) -> Result<Parsed, Vec<FieldError>> {
        parse(&request.body, received, &request.request_id)
    }
}

crate::open_enum!(
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

crate::open_enum!(
    /// Artemis `riskRating`.
    RiskRating {
        Low => "LOW",
        MediumLow => "MEDIUM_LOW",
        Medium => "MEDIUM",
        MediumHigh => "MEDIUM_HIGH",
        High => "HIGH",
    }
);

crate::open_enum!(
    /// Artemis `action`.
    Action {
        Insert => "INSERT",
        Update => "UPDATE",
    }
);

crate::open_enum!(
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

/// A validated callback. Serializes with the vendor's field names, every
/// documented field present (null where null), unknown fields kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// Exact up to 2^64 − 1 (the vendor's ids can exceed 2^53).
    pub customer_id: u64,
    pub customer_reference_id: String,
    pub profile_reference_id: String,
    pub status: CustomerStatus,
    pub risk_rating: Option<RiskRating>,
    pub action: Action,
    pub message: Option<String>,
    pub customer_type: CustomerType,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Callback {
    /// Validates a body, reporting every problem at once.
    pub fn from_body(body: &[u8]) -> Result<Self, Vec<FieldError>> {
        let value = parse_strict(body)?;
        let object = expect_object(&value, "", "a JSON object")?;
        let mut fields = Fields::new(object, "");
        let customer_id = fields.unsigned("customerId", Presence::Required);
        let customer_reference_id = fields.string("customerReferenceId", Presence::Required);
        let profile_reference_id = fields.string("profileReferenceId", Presence::Required);
        let status = fields.open_enum("status", Presence::Required);
        // Nullable fields: an absent one means the same as null.
        let risk_rating = fields.open_enum("riskRating", Presence::Optional);
        let action = fields.open_enum("action", Presence::Required);
        let message = fields.string("message", Presence::Optional);
        let customer_type = fields.open_enum("customerType", Presence::Required);
        let extra = fields.extra(FIELDS);
        let errors = fields.into_errors();

        match (
            customer_id,
            customer_reference_id,
            profile_reference_id,
            status,
            action,
            customer_type,
        ) {
            (
                Some(customer_id),
                Some(customer_reference_id),
                Some(profile_reference_id),
                Some(status),
                Some(action),
                Some(customer_type),
            ) if errors.is_empty() => Ok(Self {
                customer_id,
                customer_reference_id,
                profile_reference_id,
                status,
                risk_rating,
                action,
                message,
                customer_type,
                extra,
            }),
            _ => Err(errors),
        }
    }

    /// The vendor's dedupe key: customerId + action + status + riskRating.
    pub fn dedupe_key(&self) -> String {
        dedupe_key(&[
            json!("artemis"),
            json!(self.customer_id),
            json!(self.action.as_str()),
            json!(self.status.as_str()),
            json!(self.risk_rating.as_ref().map(OpenEnum::as_str)),
        ])
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

    /// The queue message. Artemis sends no id: the event's id is derived from
    /// the delivery's `request_id`, so it is unique per delivery (two
    /// deliveries of equal bodies are two events: a customer can return to an
    /// earlier state) and the same for the function's own retries and for
    /// replays of the same request. `dedupekey` stays the vendor's key.
    pub fn into_event(self, received: OffsetDateTime, request_id: &str) -> CloudEvent {
        let dedupekey = self.dedupe_key();
        let received = format_utc(received);
        CloudEvent {
            specversion: "1.0".to_owned(),
            id: uuid_shaped(&dedupe_key(&[json!("artemis"), json!(request_id)])),
            source: "artemis".to_owned(),
            kind: format!("co.cynopsis.artemis.customer.{}", self.action.as_str().to_lowercase()),
            subject: Some(self.customer_reference_id.clone()),
            time: received.clone(),
            datacontenttype: "application/json".to_owned(),
            data: Some(serde_json::to_value(&self).unwrap_or(Value::Null)),
            provider: "artemis".to_owned(),
            dedupekey,
            receivedtime: received,
            extensions: Map::new(),
        }
    }
}

/// Validates and normalizes one Artemis request body, delivered as `request_id`.
pub fn parse(body: &[u8], received: OffsetDateTime, request_id: &str) -> Result<Parsed, Vec<FieldError>> {
    let callback = Callback::from_body(body)?;
    let unknown_enum_fields = callback.unknown_enum_fields();
    Ok(Parsed {
        events: vec![callback.into_event(received, request_id)],
        batch: false,
        unknown_enum_fields,
    })
}

/// The first 128 bits of a hex digest, written as a UUID (8-4-4-4-12).
fn uuid_shaped(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests;
