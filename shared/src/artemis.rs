//! Artemis (Cynopsis KYC) customer callbacks: one plain JSON object per
//! request, sent with POST, PUT or PATCH. Artemis never retries and sends no
//! event id.

use lambda_http::http::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::envelope::{dedupe_key, CloudEvent};
use crate::fields::{expect_object, parse_strict, Fields, Presence};
use crate::open_enum::OpenEnum;
use crate::problem::FieldError;
use crate::request::Incoming;
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
mod tests {
    use super::*;
    use time::macros::datetime;

    const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
    const UPDATE: &str = include_str!("../../events/bodies/artemis-update.json");
    const NOW: OffsetDateTime = datetime!(2026-11-23 10:00:00.5 UTC);

    fn event(body: &str) -> CloudEvent {
        parse(body.as_bytes(), NOW, "req-1").unwrap().events.remove(0)
    }

    #[test]
    fn insert_example_normalizes_to_the_contract_envelope() {
        let event = event(INSERT);
        assert_eq!(event.specversion, "1.0");
        assert_eq!(event.source, "artemis");
        assert_eq!(event.kind, "co.cynopsis.artemis.customer.insert");
        assert_eq!(event.subject.as_deref(), Some("CUST-000123"));
        assert_eq!(event.time, "2026-11-23T10:00:00.5Z");
        assert_eq!(event.receivedtime, event.time);
        assert_eq!(event.datacontenttype, "application/json");
        assert_eq!(event.provider, "artemis");
        assert_eq!(event.dedupekey.len(), 64);
        let data = event.data.unwrap();
        let expected: Value = serde_json::from_str(INSERT).unwrap();
        assert_eq!(data, expected, "every documented field, as sent");
    }

    #[test]
    fn update_example_keeps_nulls_and_types() {
        let event = event(UPDATE);
        assert_eq!(event.kind, "co.cynopsis.artemis.customer.update");
        let data = event.data.unwrap();
        assert_eq!(data["status"], "CLEARED");
        assert!(data.as_object().unwrap().contains_key("message"));
    }

    #[test]
    fn ids_are_per_delivery_and_the_dedupe_key_is_the_vendors() {
        // Regression (issue 9, class 6): the id came from the dedupe key, so a
        // return to an earlier state within five minutes was dropped by FIFO.
        let first = event(UPDATE);
        let replay = parse(UPDATE.as_bytes(), NOW + time::Duration::hours(1), "req-1")
            .unwrap()
            .events
            .remove(0);
        assert_eq!(first.id, replay.id, "the same delivery replayed keeps its id");
        let second = parse(UPDATE.as_bytes(), NOW, "req-2").unwrap().events.remove(0);
        assert_ne!(
            first.id, second.id,
            "another delivery of an equal body is another event"
        );
        assert_eq!(
            first.dedupekey, second.dedupekey,
            "the vendor's key: equal for a repeat"
        );
        // The key ignores field order, whitespace and the message.
        let mut reordered: Map<String, Value> = serde_json::from_str(UPDATE).unwrap();
        let status = reordered.remove("status").unwrap();
        reordered.insert("status".into(), status);
        let reordered = event(&serde_json::to_string_pretty(&reordered).unwrap());
        assert_eq!(first.dedupekey, reordered.dedupekey);
        let changed = event(&UPDATE.replace("CLEARED", "REJECTED"));
        assert_ne!(first.dedupekey, changed.dedupekey);
        let message_only = event(&UPDATE.replace("\"message\": null", "\"message\": \"note\""));
        assert_eq!(
            first.dedupekey, message_only.dedupekey,
            "message is not part of the dedupe key"
        );
    }

    #[test]
    fn customer_id_beyond_2_pow_53_stays_exact() {
        let body = INSERT.replace("123456", "9007199254740993");
        let event = event(&body);
        assert!(event_body(&event).contains("\"customerId\":9007199254740993"));
        let max = INSERT.replace("123456", "18446744073709551615");
        assert!(event_body(&self::event(&max)).contains("18446744073709551615"));
    }

    fn event_body(event: &CloudEvent) -> String {
        serde_json::to_string(event).unwrap()
    }

    #[test]
    fn unknown_enum_values_and_extra_fields_pass_verbatim() {
        let mut body: Map<String, Value> = serde_json::from_str(INSERT).unwrap();
        body.insert("status".into(), json!("ON_HOLD"));
        body.insert("riskRating".into(), json!("VERY_HIGH"));
        body.insert("action".into(), json!("Delete"));
        body.insert("customerType".into(), json!("TRUST"));
        body.insert("newField".into(), json!({"nested": [1, 2]}));
        let event = event(&serde_json::to_string(&body).unwrap());
        assert_eq!(event.kind, "co.cynopsis.artemis.customer.delete");
        assert_eq!(event.data.unwrap(), Value::Object(body));
    }

    #[test]
    fn absent_nullable_fields_are_emitted_as_null() {
        let mut body: Map<String, Value> = serde_json::from_str(INSERT).unwrap();
        body.remove("riskRating");
        body.remove("message");
        let data = event(&serde_json::to_string(&body).unwrap()).data.unwrap();
        assert_eq!(data["riskRating"], Value::Null);
        assert!(data.as_object().unwrap().contains_key("riskRating"));
        assert!(data.as_object().unwrap().contains_key("message"));
    }

    fn errors(body: &str) -> Vec<String> {
        parse(body.as_bytes(), NOW, "req-1")
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let found = errors(
            r#"{"customerId":"123","customerReferenceId":7,"status":null,"riskRating":5,"action":"INSERT","message":false}"#,
        );
        assert_eq!(
            found,
            [
                "customerId: must be an integer, not a string",
                "customerReferenceId: must be a string, not a number",
                "profileReferenceId: is required",
                "status: must not be null",
                "riskRating: must be a string, not a number",
                "message: must be a string, not a boolean",
                "customerType: is required",
            ]
        );
    }

    #[test]
    fn number_forms_that_could_lose_the_id_are_refused() {
        for id in ["1.5", "1e3", "-4", "18446744073709551616", "123.0"] {
            let found = errors(&INSERT.replace("123456", id));
            assert_eq!(found.len(), 1, "{id}: {found:?}");
            assert!(found[0].starts_with("customerId:"), "{found:?}");
        }
    }

    #[test]
    fn body_level_problems() {
        assert_eq!(errors("[1,2]"), ["body: must be a JSON object, not an array"]);
        assert!(errors("{\"customerId\":")[0].starts_with("body: not valid JSON"));
        let duplicated = INSERT.replacen("\"status\"", "\"status\": \"REJECTED\", \"status\"", 1);
        assert_eq!(
            errors(&duplicated),
            ["status: this key appears more than once in the same object"]
        );
        assert!(errors("")[0].starts_with("body: the body is empty"));
    }

    #[test]
    fn known_values_round_trip() {
        for text in ["DRAFT", "PENDING", "CLEARED", "REQUIRE_UPDATE", "REJECTED", "ACCEPTED"] {
            let status = CustomerStatus::parse(text);
            assert!(status.is_known(), "{text}");
            assert_eq!(status.as_str(), text);
        }
        assert_eq!(RiskRating::parse("MEDIUM_HIGH"), RiskRating::MediumHigh);
    }

    #[test]
    fn unknown_values_are_found_by_field() {
        let body = INSERT.replace("\"PENDING\"", "\"ON_HOLD\"");
        let parsed = parse(body.as_bytes(), NOW, "req-1").unwrap();
        assert_eq!(parsed.unknown_enum_fields, ["status"]);
        assert!(!parsed.batch);
        let known = parse(INSERT.as_bytes(), NOW, "req-1").unwrap();
        assert!(known.unknown_enum_fields.is_empty());
    }
}
