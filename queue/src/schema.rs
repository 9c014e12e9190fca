//! JSON Schemas (draft 2020-12) of what lands on the queues, generated from
//! this crate's types: the committed files in `schemas/` are [`files`]'s
//! output, and the tests fail when they differ.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};

use crate::amlyze::{self, CustomerUpdated};
use crate::artemis::{self, Customer};
use crate::event::CloudEvent;
use crate::quarantine::QuarantineRecord;
use crate::transition::Transition;

/// The schema file of the events queue's messages.
pub const EVENT: &str = "event.schema.json";
/// The schema file of the quarantine queue's messages.
pub const QUARANTINE_RECORD: &str = "quarantine-record.schema.json";
/// The schema file of the transitions topic's messages.
pub const TRANSITION: &str = "transition.schema.json";

/// Every schema file: its name and its content.
pub fn files() -> Vec<(&'static str, Value)> {
    vec![
        (EVENT, event()),
        ("artemis-customer.schema.json", root::<Customer>()),
        ("amlyze-customer-updated.schema.json", root::<CustomerUpdated>()),
        (QUARANTINE_RECORD, root::<QuarantineRecord>()),
        (TRANSITION, transition()),
    ]
}

/// The schemas describe what is written (every field the intake always
/// writes is required, `null` where it may be null).
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().for_serialize().into_generator()
}

fn root<T: JsonSchema>() -> Value {
    let mut schema = generator().into_root_schema_for::<T>().to_value();
    never_null_when_optional(&mut schema);
    schema
}

/// An optional field is left out when it has no value, never written as
/// `null`: its schema loses the `null` that `Option` gave it.
fn never_null_when_optional(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<Value> = object
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if required.contains(&Value::from(name.as_str())) {
                continue;
            }
            if let Some(Value::Array(types)) = property.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    property["type"] = only.clone();
                }
            }
            if let Some(Value::Array(any_of)) = property.get_mut("anyOf") {
                any_of.retain(|s| s.get("type").is_none_or(|t| t != "null"));
            }
        }
    }
    for value in object.values_mut() {
        never_null_when_optional(value);
    }
}

/// A transition, with what the types cannot say: the vendors by name, the id
/// as 64 hex digits, at least one change.
fn transition() -> Value {
    let mut schema = root::<Transition>();
    schema["properties"]["vendor"]["enum"] = json!(crate::PROVIDERS);
    schema["properties"]["id"]["pattern"] = json!("^[0-9a-f]{64}$");
    schema["properties"]["changes"]["minItems"] = json!(1);
    schema["properties"]["version"]["minimum"] = json!(1);
    schema
}

/// The envelope, with the data of the typed event types checked by type.
fn event() -> Value {
    let mut generator = generator();
    let mut schema = generator.root_schema_for::<CloudEvent>().to_value();
    never_null_when_optional(&mut schema);
    let artemis = generator.subschema_for::<Customer>().to_value();
    let amlyze = generator.subschema_for::<CustomerUpdated>().to_value();
    let typed = |provider: &str, kind: Value, data: Value| {
        json!({
            "if": {
                "properties": {"provider": {"const": provider}, "type": kind},
                "required": ["provider", "type"],
            },
            "then": {"properties": {"data": data}, "required": ["data"]},
        })
    };
    let prefix = format!("^{}", artemis::TYPE_PREFIX.replace('.', "\\."));
    schema["title"] = json!("Intake queue event (CloudEvents 1.0, structured JSON)");
    schema["description"] = json!(
        "One message of the events queue. The data of Artemis customer events and of Amlyze \
         com.amlyze.customer.updated is checked by type; other types keep their data as sent."
    );
    schema["properties"]["specversion"]["const"] = json!("1.0");
    schema["properties"]["provider"]["enum"] = json!(crate::PROVIDERS);
    schema["allOf"] = json!([
        typed(artemis::PROVIDER, json!({"pattern": prefix}), artemis),
        typed(amlyze::PROVIDER, json!({"const": amlyze::CUSTOMER_UPDATED}), amlyze),
    ]);
    let definitions = generator.take_definitions(true);
    let defs = schema
        .as_object_mut()
        .map(|object| object.entry("$defs").or_insert_with(|| json!({})));
    if let Some(Value::Object(defs)) = defs {
        defs.extend(definitions);
    }
    never_null_when_optional(&mut schema);
    schema
}

/// Checks queue bodies against the schemas, with a JSON Schema validator.
#[cfg(feature = "validate")]
pub struct Validator {
    event: jsonschema::Validator,
    quarantine_record: jsonschema::Validator,
    transition: jsonschema::Validator,
}

#[cfg(feature = "validate")]
impl Validator {
    /// The validator of this build's schemas.
    pub fn get() -> &'static Self {
        static VALIDATOR: std::sync::OnceLock<Validator> = std::sync::OnceLock::new();
        VALIDATOR.get_or_init(|| {
            let compile = |schema: Value| jsonschema::draft202012::new(&schema).expect("the generated schemas compile");
            Self {
                event: compile(event()),
                quarantine_record: compile(root::<QuarantineRecord>()),
                transition: compile(transition()),
            }
        })
    }

    /// Every way an events-queue body breaks [`EVENT`].
    pub fn event(&self, body: &str) -> Result<(), Vec<String>> {
        check(&self.event, body)
    }

    /// Every way a quarantine-queue body breaks [`QUARANTINE_RECORD`].
    pub fn quarantine_record(&self, body: &str) -> Result<(), Vec<String>> {
        check(&self.quarantine_record, body)
    }

    /// Every way a transitions-topic body breaks [`TRANSITION`].
    pub fn transition(&self, body: &str) -> Result<(), Vec<String>> {
        check(&self.transition, body)
    }
}

#[cfg(feature = "validate")]
fn check(validator: &jsonschema::Validator, body: &str) -> Result<(), Vec<String>> {
    let instance: Value = serde_json::from_str(body).map_err(|e| vec![format!("not JSON: {e}")])?;
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A schema as its committed file holds it (pretty JSON, final newline).
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}
