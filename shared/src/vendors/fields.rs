//! Reading a vendor's JSON object field by field, collecting every problem
//! at once (the body itself is parsed by [`crate::vendors::strict_json`]).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::egress::problem::FieldError;
use intake_queue::OpenEnum;

/// `parent.key`, or `key` at the top level.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `value` as a JSON object, or the error naming `path` (`body` at the top
/// level): "must be {what}, not an array".
pub(crate) fn expect_object<'v>(
    value: &'v Value,
    path: &str,
    what: &str,
) -> Result<&'v Map<String, Value>, Vec<FieldError>> {
    match value {
        Value::Object(object) => Ok(object),
        other => {
            let field = if path.is_empty() { "body" } else { path };
            Err(vec![FieldError::new(
                field,
                format!("must be {what}, not {}", type_name(other)),
            )])
        }
    }
}

/// The JSON type of a value, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether a field must be present and non-null.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Absent or null is an error.
    Required,
    /// Absent and null both mean "not reported".
    Optional,
}

/// Reads typed fields out of one JSON object, collecting every problem.
///
/// Each reader returns `None` when the field is absent, null or wrong; the
/// caller checks [`Fields::into_errors`] once all fields were read.
pub(crate) struct Fields<'v> {
    object: &'v Map<String, Value>,
    prefix: String,
    errors: Vec<FieldError>,
}

impl<'v> Fields<'v> {
    pub fn new(object: &'v Map<String, Value>, prefix: impl Into<String>) -> Self {
        Self {
            object,
            prefix: prefix.into(),
            errors: Vec::new(),
        }
    }

    /// The full path of `key`, as it appears in error messages.
    pub fn path(&self, key: &str) -> String {
        join(&self.prefix, key)
    }

    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let field = self.path(key);
        self.errors.push(FieldError::new(field, message));
    }

    /// The raw value of `key` when present and not null.
    pub fn value(&mut self, key: &str, presence: Presence) -> Option<&'v Value> {
        match self.object.get(key) {
            Some(Value::Null) if presence == Presence::Required => {
                self.error(key, "must not be null");
                None
            }
            None if presence == Presence::Required => {
                self.error(key, "is required");
                None
            }
            Some(Value::Null) | None => None,
            Some(value) => Some(value),
        }
    }

    pub fn string(&mut self, key: &str, presence: Presence) -> Option<String> {
        match self.value(key, presence)? {
            Value::String(s) if s.is_empty() && presence == Presence::Required => {
                self.error(key, "must not be empty");
                None
            }
            Value::String(s) => Some(s.clone()),
            other => {
                let message = format!("must be a string, not {}", type_name(other));
                self.error(key, message);
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.value(key, Presence::Optional)? {
            Value::Bool(b) => Some(*b),
            other => {
                let message = format!("must be a boolean, not {}", type_name(other));
                self.error(key, message);
                None
            }
        }
    }

    /// A non-negative integer, exact up to 2^64 − 1. Fractions, exponents and
    /// numbers too large to hold exactly are refused, never rounded.
    pub(crate) fn unsigned(&mut self, key: &str, presence: Presence) -> Option<u64> {
        match self.value(key, presence)? {
            Value::Number(n) => match n.as_u64() {
                Some(v) => Some(v),
                None if n.is_i64() => {
                    self.error(key, "must be a non-negative integer");
                    None
                }
                None => {
                    self.error(
                        key,
                        "must be an integer that fits in 64 bits, written without fraction or exponent",
                    );
                    None
                }
            },
            other => {
                let message = format!("must be an integer, not {}", type_name(other));
                self.error(key, message);
                None
            }
        }
    }

    /// A value of an open enum; one this build does not know is kept (and logged).
    pub(crate) fn open_enum<E: OpenEnum>(&mut self, key: &str, presence: Presence) -> Option<E> {
        let text = self.string(key, presence)?;
        let value = E::parse(&text);
        if !value.is_known() {
            tracing::warn!(field = %self.path(key), "unknown enum value passed on verbatim");
        }
        Some(value)
    }

    /// An RFC 3339 timestamp, kept as the sender wrote it.
    pub fn timestamp(&mut self, key: &str) -> Option<(String, OffsetDateTime)> {
        let text = self.string(key, Presence::Optional)?;
        match platform::timestamp::parse(&text) {
            Ok(at) => Some((text, at)),
            Err(message) => {
                self.error(key, message);
                None
            }
        }
    }

    /// Every key not in `known`, kept as it came.
    pub fn extra(&self, known: &[&str]) -> Map<String, Value> {
        self.object
            .iter()
            .filter(|(key, _)| !known.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The errors collected so far; empty means every field read was valid.
    pub(crate) fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::strict_json::parse_strict;

    #[test]
    fn big_integers_are_exact_and_floats_are_not_integers() {
        let value = parse_strict(br#"{"id":18446744073709551615,"f":1.0,"e":1e3,"big":18446744073709551616,"neg":-1}"#)
            .unwrap();
        let object = value.as_object().unwrap();
        let mut fields = Fields::new(object, "");
        assert_eq!(fields.unsigned("id", Presence::Required), Some(u64::MAX));
        assert_eq!(fields.unsigned("f", Presence::Required), None);
        assert_eq!(fields.unsigned("e", Presence::Required), None);
        assert_eq!(fields.unsigned("big", Presence::Required), None);
        assert_eq!(fields.unsigned("neg", Presence::Required), None);
        let errors = fields.into_errors();
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["f", "e", "big", "neg"]
        );
    }

    #[test]
    fn presence_rules() {
        let value = parse_strict(br#"{"n":null,"s":"","b":"yes"}"#).unwrap();
        let mut fields = Fields::new(value.as_object().unwrap(), "data");
        assert_eq!(fields.string("n", Presence::Optional), None);
        assert_eq!(fields.string("missing", Presence::Optional), None);
        assert_eq!(fields.string("n", Presence::Required), None);
        assert_eq!(fields.string("missing", Presence::Required), None);
        assert_eq!(fields.string("s", Presence::Required), None);
        assert_eq!(fields.boolean("b"), None);
        let messages: Vec<_> = fields
            .into_errors()
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        assert_eq!(
            messages,
            [
                "data.n: must not be null",
                "data.missing: is required",
                "data.s: must not be empty",
                "data.b: must be a boolean, not a string"
            ]
        );
    }
}
