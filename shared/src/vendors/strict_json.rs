//! Strict JSON parsing: `serde_json` quietly keeps the last of two equal
//! keys; a webhook body that says `"sanctioned": false, "sanctioned": true` is
//! ambiguous, so [`parse_strict`] reports every duplicated key with its path.
//! Nesting is bounded by `serde_json`'s recursion limit (128), so deep input
//! is an error, not a crash.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::egress::problem::{FieldError, MAX_PROBLEM_FIELD_BYTES};

/// Parses `bytes` as one JSON document. Errors name the field they concern:
/// `body` for syntax errors, the key's path for a duplicated key.
pub(crate) fn parse_strict(bytes: &[u8]) -> Result<Value, Vec<FieldError>> {
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
/// [`MAX_PROBLEM_FIELD_BYTES`] of it: building a full path string for every value
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
                if out.len() < MAX_PROBLEM_FIELD_BYTES {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&platform::sqs::truncate(key, MAX_PROBLEM_FIELD_BYTES));
                }
            }
            Path::Index(parent, index) => {
                parent.write(out);
                if out.len() < MAX_PROBLEM_FIELD_BYTES {
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
        // Regression: every duplicate built its full path,
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
            errors.iter().all(|e| e.field.len() <= MAX_PROBLEM_FIELD_BYTES + 8),
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
    fn floats_in_passed_on_fields_are_not_altered() {
        // Needs serde_json's float_roundtrip feature; without it these were off by one ulp.
        for text in ["5.5586850873043364e246", "-2.1663502734639154e-209", "0.1", "123.456"] {
            let value = parse_strict(format!("{{\"x\":{text}}}").as_bytes()).unwrap();
            assert_eq!(value["x"].as_f64().unwrap(), text.parse::<f64>().unwrap(), "{text}");
        }
    }
}
