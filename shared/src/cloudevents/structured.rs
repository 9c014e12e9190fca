//! Structured mode (one event as a JSON object) and batch mode (an array of
//! them).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{queue_event, with_data_problems, Attributes, Checked, Labels, Sender, MAX_BATCH_EVENTS};
use crate::envelope::{is_attribute_name, OWN_ATTRIBUTES};
use crate::fields::{expect_object, parse_strict, type_name, Fields, Presence};
use crate::problem::FieldError;

pub(super) fn batch(
    sender: &dyn Sender,
    body: &[u8],
    received: OffsetDateTime,
) -> Result<Vec<Checked>, Vec<FieldError>> {
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
) -> Result<Checked, Vec<FieldError>> {
    let object = expect_object(value, prefix, "a CloudEvent JSON object")?;
    let mut fields = Fields::new(object, prefix);
    let specversion = fields.string("specversion", Presence::Required);
    if specversion.as_deref().is_some_and(|v| v != "1.0") {
        fields.error("specversion", "must be \"1.0\"");
    }
    let id = fields.string("id", Presence::Required);
    let source = fields.string("source", Presence::Required);
    let kind = fields.string("type", Presence::Required);
    let subject = fields.string("subject", Presence::Optional);
    let time = fields.timestamp("time").map(|(_, at)| at);
    let datacontenttype = fields.string("datacontenttype", Presence::Optional);
    let mut extensions = Map::new();
    for (name, value) in object {
        if name == "data_base64" || (!OWN_ATTRIBUTES.contains(&name.as_str()) && is_attribute_name(name)) {
            extensions.insert(name.clone(), value.clone());
        } else if !OWN_ATTRIBUTES.contains(&name.as_str()) {
            fields.error(
                name,
                "is not a valid CloudEvents attribute name (lower-case letters and digits only)",
            );
        }
    }
    let data = object.get("data").cloned();
    let errors = fields.into_errors();
    let labels = Labels::structured(prefix);
    match (specversion, id, source, kind) {
        (Some(_), Some(id), Some(source), Some(kind)) if errors.is_empty() => {
            let attributes = Attributes {
                id,
                source,
                kind,
                subject,
                time,
                datacontenttype,
                extensions,
            };
            queue_event(sender, attributes, data, &labels, received)
        }
        (_, _, _, kind) => Err(with_data_problems(sender, errors, kind, data.as_ref(), &labels)),
    }
}
