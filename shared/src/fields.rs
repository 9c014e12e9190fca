//! Reading a vendor's JSON: strict parsing (every duplicated key is an error)
//! and field-by-field validation that collects every problem at once.
//!
//! `serde_json` quietly keeps the last of two equal keys; a webhook body that
//! says `"sanctioned": false, "sanctioned": true` is ambiguous, so [`parse_strict`]
//! reports every duplicated key with its path. Nesting is bounded by
//! `serde_json`'s recursion limit (128), so deep input is an error, not a crash.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use crate::open_enum::OpenEnum;
use crate::problem::{FieldError, MAX_FIELD_BYTES};

/// Parses `bytes` as one JSON document. Errors name the field they concern:
/// `body` for syntax errors, the key's path for a duplicated key.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, Vec<FieldError>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![FieldError::new(
            "body",
            "the body is empty; expected a JSON document",
        )]);
    }
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        path: Path::Root,
        duplicates: &duplicates,
    };
    let parsed = seed.deserialize(&mut de).and_then(|value| de.end().map(|()| value));
    match parsed {
        Ok(value) => {
            let duplicates = duplicates.into_inner();
            if duplicates.is_empty() {
                Ok(value)
            } else {
                Err(duplicates)
            }
        }
        Err(err) => Err(vec![FieldError::new("body", format!("not valid JSON: {err}"))]),
    }
}

/// Where a value sits in the document, as a chain of borrowed segments. It is
/// written out only for a duplicated key, and then at most
/// [`MAX_FIELD_BYTES`] of it: building a full path string for every value
/// made a body of many duplicates under one long key cost gigabytes.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Appends this path to `out`, stopping once `out` holds the most a field name may.
    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                if out.len() < MAX_FIELD_BYTES {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&crate::limits::truncate(key, MAX_FIELD_BYTES));
                }
            }
            Path::Index(parent, index) => {
                parent.write(out);
                if out.len() < MAX_FIELD_BYTES {
                    out.push_str(&format!("[{index}]"));
                }
            }
        }
    }
}

/// A seed that builds a [`Value`] and records duplicated keys by path.
struct Strict<'a> {
    path: Path<'a>,
    duplicates: &'a RefCell<Vec<FieldError>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so every parsed float is finite.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed = Strict {
                path: Path::Index(&self.path, items.len()),
                duplicates: self.duplicates,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(&self.path, &key);
            let value = map.next_value_seed(Strict {
                path,
                duplicates: self.duplicates,
            })?;
            if object.contains_key(&key) {
                self.duplicates.borrow_mut().push(FieldError::new(
                    path.render(),
                    "this key appears more than once in the same object",
                ));
            } else {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

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
pub fn expect_object<'v>(value: &'v Value, path: &str, what: &str) -> Result<&'v Map<String, Value>, Vec<FieldError>> {
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
pub fn type_name(value: &Value) -> &'static str {
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
pub enum Presence {
    /// Absent or null is an error.
    Required,
    /// Absent and null both mean "not reported".
    Optional,
}

/// Reads typed fields out of one JSON object, collecting every problem.
///
/// Each reader returns `None` when the field is absent, null or wrong; the
/// caller checks [`Fields::into_errors`] once all fields were read.
pub struct Fields<'v> {
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

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
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
    pub fn unsigned(&mut self, key: &str, presence: Presence) -> Option<u64> {
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
    pub fn open_enum<E: OpenEnum>(&mut self, key: &str, presence: Presence) -> Option<E> {
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
        match crate::timestamp::parse(&text) {
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
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_keys_are_reported_by_path_every_one() {
        let errors = parse_strict(br#"{"a":1,"a":2,"b":{"c":true,"c":false},"d":[{"e":1,"e":1}]}"#).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b.c", "d[0].e"]);
    }

    #[test]
    fn many_duplicates_under_a_long_key_cost_little() {
        // Regression (issue 9, class 2): every duplicate built its full path,
        // 200 KB each here, gigabytes in all.
        let long = "k".repeat(200_000);
        let inner = "\"a\":1,".repeat(8_000);
        let body = format!(
            "{{\"{long}\":{{{inner}\"a\":1}}, \"list\":[{}0]}}",
            "{\"b\":1,\"b\":2},".repeat(2_000)
        );
        let errors = parse_strict(body.as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 8_000 + 2_000);
        assert!(
            errors.iter().all(|e| e.field.len() <= MAX_FIELD_BYTES + 8),
            "field names are bounded"
        );
        assert!(errors[0].field.starts_with("kkk"));
        assert_eq!(errors[8_000].field, "list[0].b");
    }

    #[test]
    fn syntax_errors_name_the_body() {
        let errors = parse_strict(b"{\"a\":").unwrap_err();
        assert_eq!(errors[0].field, "body");
        assert!(errors[0].message.contains("not valid JSON"), "{}", errors[0].message);
        assert_eq!(
            parse_strict(b"  ").unwrap_err()[0].message,
            "the body is empty; expected a JSON document"
        );
        assert!(parse_strict(b"{} {}").is_err(), "trailing content is refused");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let errors = parse_strict(deep.as_bytes()).unwrap_err();
        assert!(errors[0].message.contains("recursion limit"), "{}", errors[0].message);
    }

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
    fn floats_in_passed_on_fields_are_not_altered() {
        // Needs serde_json's float_roundtrip feature; without it these were off by one ulp.
        for text in ["5.5586850873043364e246", "-2.1663502734639154e-209", "0.1", "123.456"] {
            let value = parse_strict(format!("{{\"x\":{text}}}").as_bytes()).unwrap();
            assert_eq!(value["x"].as_f64().unwrap(), text.parse::<f64>().unwrap(), "{text}");
        }
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
