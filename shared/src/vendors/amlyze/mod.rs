//! Amlyze (AML screening) webhooks: CloudEvents 1.0 over HTTP (any mode of
//! [`crate::vendors::cloudevents`]), sent with POST after the CloudEvents preflight.
//! This module holds what is Amlyze's own: the rules for
//! `com.amlyze.customer.updated` data. Other event types pass their data on
//! as it came.

use lambda_http::http::Method;
use serde_json::Value;
use time::OffsetDateTime;

use crate::egress::problem::FieldError;
use crate::ingress::request::Incoming;
use crate::vendors::cloudevents::{self, Sender, TypedData};
use crate::vendors::fields::{expect_object, Fields, Presence};
use crate::vendors::vendor::{Parsed, Vendor};

pub use intake_queue::amlyze::{CustomerUpdated, CUSTOMER_UPDATED};

/// The Amlyze vendor ([`crate::Provider::Amlyze`]).
pub struct Amlyze;

impl Vendor for Amlyze {
    fn name(&self) -> &'static str {
        intake_queue::amlyze::PROVIDER
    }

    fn methods(&self) -> &'static [Method] {
        const METHODS: &[Method] = &[Method::POST];
        METHODS
    }

    fn answers_preflight(&self) -> bool {
        true
    }

    fn parse(&self, request: &Incoming, received: OffsetDateTime) -> Result<Parsed, Vec<FieldError>> {
        cloudevents::parse(self, &request.headers, &request.body, received)
    }
}

impl Sender for Amlyze {
    fn checks(&self, kind: &str) -> bool {
        kind == CUSTOMER_UPDATED
    }

    fn data(&self, _kind: &str, data: &Value, path: &str) -> Result<TypedData, Vec<FieldError>> {
        let (customer, updated) = validate_data(data, path)?;
        Ok(TypedData {
            subject: customer.customer_external_id.clone(),
            subject_field: "customerExternalID",
            time: updated,
            unknown_enum_fields: customer.unknown_enum_fields(),
            data: serde_json::to_value(&customer).unwrap_or(Value::Null),
        })
    }
}

/// Validates and normalizes one Amlyze request, in whichever mode it came
/// (the functions go through [`Vendor::parse`]; this is for tests and fuzzing).
#[cfg(any(test, feature = "testing"))]
pub fn parse(
    headers: &lambda_http::http::HeaderMap,
    body: &[u8],
    received: OffsetDateTime,
) -> Result<Parsed, Vec<FieldError>> {
    cloudevents::parse(&Amlyze, headers, body, received)
}

/// Field names of `com.amlyze.customer.updated` data, with the spellings the
/// vendor's docs also use (`customerExternalId`, `updateAt`).
const DATA_FIELDS: &[&str] = &[
    "customerExternalID",
    "customerExternalId",
    "sanctioned",
    "pep",
    "inAdverseMedia",
    "inInternalList",
    "riskLevel",
    "status",
    "updatedAt",
    "updateAt",
];

/// Validates `com.amlyze.customer.updated` data, and reads when the change
/// happened; `prefix` is the path of the data in the request (`""` in binary
/// mode, `data` or `[i].data` otherwise).
pub(crate) fn validate_data(
    value: &Value,
    prefix: &str,
) -> Result<(CustomerUpdated, Option<OffsetDateTime>), Vec<FieldError>> {
    let object = expect_object(value, prefix, "a JSON object")?;
    let mut fields = Fields::new(object, prefix);
    let id = aliased(&mut fields, "customerExternalID", "customerExternalId", |f, k| {
        f.string(k, Presence::Optional)
    });
    let customer_external_id = match id {
        Some(id) if id.is_empty() => {
            fields.error("customerExternalID", "must not be empty");
            None
        }
        Some(id) => Some(id),
        None => {
            // A present value of the wrong type was reported already.
            let present = ["customerExternalID", "customerExternalId"]
                .iter()
                .any(|key| object.get(*key).is_some_and(|v| !v.is_null()));
            if !present {
                fields.error("customerExternalID", "is required");
            }
            None
        }
    };
    let sanctioned = fields.boolean("sanctioned");
    let pep = fields.boolean("pep");
    let in_adverse_media = fields.boolean("inAdverseMedia");
    let in_internal_list = fields.boolean("inInternalList");
    let risk_level = fields.open_enum("riskLevel", Presence::Optional);
    let status = fields.open_enum("status", Presence::Optional);
    let updated = aliased(&mut fields, "updatedAt", "updateAt", Fields::timestamp);
    let extra = fields.extra(DATA_FIELDS);
    let errors = fields.into_errors();
    match customer_external_id {
        Some(customer_external_id) if errors.is_empty() => {
            let (updated_at, updated) = updated.map_or((None, None), |(text, at)| (Some(text), Some(at)));
            let data = CustomerUpdated {
                customer_external_id,
                sanctioned,
                pep,
                in_adverse_media,
                in_internal_list,
                risk_level,
                status,
                updated_at,
                extra,
            };
            Ok((data, updated))
        }
        _ => Err(errors),
    }
}

/// Reads a field that may be spelled two ways; both present and different is
/// an error, since we could not tell which one the sender meant.
fn aliased<'v, T: PartialEq>(
    fields: &mut Fields<'v>,
    name: &str,
    alias: &str,
    read: impl Fn(&mut Fields<'v>, &str) -> Option<T>,
) -> Option<T> {
    let main = read(fields, name);
    let other = read(fields, alias);
    match (main, other) {
        (Some(main), Some(other)) if main != other => {
            fields.error(alias, format!("disagrees with {name}; send one of them"));
            None
        }
        (Some(value), _) | (None, Some(value)) => Some(value),
        (None, None) => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
