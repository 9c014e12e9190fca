//! Structured mode (one event as a JSON object) and batch mode (an array of
//! them).

use serde_json::Value;
use time::OffsetDateTime;

use super::{validate, Labels, Sender, Unvalidated, ValidEvent, MAX_BATCH_EVENTS};
use crate::egress::envelope::{is_cloudevents_attribute_name, OWN_ATTRIBUTES};
use crate::egress::problem::FieldError;
use crate::vendors::fields::{expect_object, type_name, Fields, Presence};
use crate::vendors::strict_json::parse_strict;

pub(super) fn batch(
    sender: &dyn Sender,
    body: &[u8],
    received: OffsetDateTime,
) -> Result<Vec<ValidEvent>, Vec<FieldError>> {
    let value = parse_strict(body)?;
    let Value::Array(items) = &value else {
        return Err(vec![FieldError::new(
            "body",
            format!("a batch must be a JSON array, not {}", type_name(&value)),
        )]);
    };
    if items.is_empty() {
        return Err(vec![FieldError::new("body", "the batch holds no events")]);
    }
    let mut events = Vec::with_capacity(items.len().min(MAX_BATCH_EVENTS));
    let mut errors = Vec::new();
    if items.len() > MAX_BATCH_EVENTS {
        errors.push(FieldError::new(
            "body",
            format!(
                "the batch holds {} events; at most {MAX_BATCH_EVENTS} are taken in one request",
                items.len()
            ),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        match event(sender, item, &format!("[{index}]"), received) {
            Ok(event) => events.push(event),
            Err(found) => errors.extend(found),
        }
    }
    // A batch is taken whole or not at all, so a retry cannot duplicate part of it.
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

pub(super) fn event(
    sender: &dyn Sender,
    value: &Value,
    prefix: &str,
    received: OffsetDateTime,
) -> Result<ValidEvent, Vec<FieldError>> {
    let object = expect_object(value, prefix, "a CloudEvent JSON object")?;
    let mut fields = Fields::new(object, prefix);
    let mut read = Unvalidated {
        specversion: fields.string("specversion", Presence::Required),
        ..Unvalidated::default()
    };
    if read.specversion.as_deref().is_some_and(|v| v != "1.0") {
        fields.error("specversion", "must be \"1.0\"");
    }
    read.id = fields.string("id", Presence::Required);
    read.source = fields.string("source", Presence::Required);
    read.kind = fields.string("type", Presence::Required);
    read.subject = fields.string("subject", Presence::Optional);
    read.time = fields.timestamp("time").map(|(_, at)| at);
    read.datacontenttype = fields.string("datacontenttype", Presence::Optional);
    for (name, value) in object {
        let own = OWN_ATTRIBUTES.contains(&name.as_str());
        if name == "data_base64" || (!own && is_cloudevents_attribute_name(name)) {
            read.extensions.insert(name.clone(), value.clone());
        } else if !own {
            fields.error(
                name,
                "is not a valid CloudEvents attribute name (lower-case letters and digits only)",
            );
        }
    }
    read.data = object.get("data").cloned();
    read.errors = fields.into_errors();
    validate(sender, read, &Labels::structured(prefix), received)
}
