//! Artemis (Cynopsis KYC) customer callbacks: one plain JSON object per
//! request, sent with POST, PUT or PATCH. Artemis never retries and sends no
//! event id.

use lambda_http::http::Method;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::egress::envelope::{dedupe_key, CloudEvent};
use crate::egress::problem::FieldError;
use crate::ingress::request::Incoming;
use crate::open_enum::OpenEnum;
use crate::vendors::fields::{expect_object, Fields, Presence};
use crate::vendors::strict_json::parse_strict;
use crate::vendors::vendor::{Parsed, Vendor};
use platform::timestamp::format_utc;

/// The Artemis vendor ([`crate::Provider::Artemis`]).
pub struct Artemis;

impl Vendor for Artemis {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn methods(&self) -> &'static [Method] {
        const METHODS: &[Method] = &[Method::POST, Method::PUT, Method::PATCH];
        METHODS
    }

    fn parse(&self, request: &Incoming, received: OffsetDateTime) -> Result<Parsed, Vec<FieldError>> {
        parse(&request.body, received, &request.request_id)
    }
}

pub use intake_queue::artemis::{Customer, FIELDS, PROVIDER, SOURCE, TYPE_PREFIX};

/// Validates a body, reporting every problem at once.
pub fn validate(body: &[u8]) -> Result<Customer, Vec<FieldError>> {
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
        ) if errors.is_empty() => Ok(Customer {
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

/// The queue message. Artemis sends no id: the event's id is derived from
/// the delivery's `request_id`, so it is unique per delivery (two
/// deliveries of equal bodies are two events: a customer can return to an
/// earlier state) and the same for the function's own retries and for
/// replays of the same request. `dedupekey` stays the vendor's key.
pub(crate) fn into_event(customer: Customer, received: OffsetDateTime, request_id: &str) -> CloudEvent {
    let dedupekey = dedupe_key(&customer.dedupe_parts());
    let received = format_utc(received);
    CloudEvent {
        specversion: "1.0".to_owned(),
        id: uuid_shaped(&dedupe_key(&[json!(PROVIDER), json!(request_id)])),
        source: SOURCE.to_owned(),
        kind: format!("{TYPE_PREFIX}{}", customer.action.as_str().to_lowercase()),
        subject: Some(customer.customer_reference_id.clone()),
        time: received.clone(),
        datacontenttype: "application/json".to_owned(),
        data: Some(serde_json::to_value(&customer).unwrap_or(Value::Null)),
        provider: PROVIDER.to_owned(),
        dedupekey,
        receivedtime: received,
        extensions: Map::new(),
    }
}

/// Validates and normalizes one Artemis request body, delivered as `request_id`.
pub fn parse(body: &[u8], received: OffsetDateTime, request_id: &str) -> Result<Parsed, Vec<FieldError>> {
    let customer = validate(body)?;
    let unknown_enum_fields = customer.unknown_enum_fields();
    Ok(Parsed {
        events: vec![into_event(customer, received, request_id)],
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
