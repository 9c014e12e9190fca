//! Binary mode: the attributes in `Ce-*` headers, percent-encoded; the data
//! is the body.

use lambda_http::http::HeaderMap;
use percent_encoding::percent_decode;
use serde_json::Value;
use time::OffsetDateTime;

use super::{validate, Labels, Sender, Unvalidated, ValidEvent};
use crate::egress::envelope::{is_cloudevents_attribute_name, OWN_ATTRIBUTES};
use crate::egress::problem::FieldError;
use crate::vendors::strict_json::parse_strict;

/// The canonical spelling of the binary-mode headers, for error messages.
const HEADERS: &[(&str, &str)] = &[
    ("ce-id", "Ce-Id"),
    ("ce-source", "Ce-Source"),
    ("ce-type", "Ce-Type"),
    ("ce-specversion", "Ce-Specversion"),
    ("ce-subject", "Ce-Subject"),
    ("ce-time", "Ce-Time"),
];

/// A `Ce-*` header's value, percent-decoded as the CloudEvents HTTP binding requires.
fn header_attribute(headers: &HeaderMap, header: &str, required: bool, errors: &mut Vec<FieldError>) -> Option<String> {
    let label = HEADERS.iter().find(|(h, _)| *h == header).map_or(header, |(_, l)| l);
    match headers.get(header).map(|v| percent_decode(v.as_bytes()).decode_utf8()) {
        Some(Ok(text)) if !text.is_empty() => Some(text.into_owned()),
        Some(Ok(_)) if required => {
            errors.push(FieldError::new(label, "must not be empty"));
            None
        }
        Some(Ok(_)) => None,
        Some(Err(_)) => {
            errors.push(FieldError::new(label, "is not valid percent-encoded UTF-8"));
            None
        }
        None if required => {
            errors.push(FieldError::new(label, "header is required (CloudEvents binary mode)"));
            None
        }
        None => None,
    }
}

pub(super) fn event(
    sender: &dyn Sender,
    headers: &HeaderMap,
    body: &[u8],
    received: OffsetDateTime,
) -> Result<ValidEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut read = Unvalidated {
        specversion: header_attribute(headers, "ce-specversion", true, &mut errors),
        ..Unvalidated::default()
    };
    read.id = header_attribute(headers, "ce-id", true, &mut errors);
    read.source = header_attribute(headers, "ce-source", true, &mut errors);
    read.kind = header_attribute(headers, "ce-type", true, &mut errors);
    read.subject = header_attribute(headers, "ce-subject", false, &mut errors);
    let time_text = header_attribute(headers, "ce-time", false, &mut errors);
    for name in headers.keys().map(|h| h.as_str()) {
        let Some(attribute_name) = name.strip_prefix("ce-") else {
            continue;
        };
        if HEADERS.iter().any(|(h, _)| *h == name) || OWN_ATTRIBUTES.contains(&attribute_name) {
            continue;
        }
        if !is_cloudevents_attribute_name(attribute_name) {
            errors.push(FieldError::new(
                name,
                "is not a valid CloudEvents attribute name (lower-case letters and digits only)",
            ));
        } else if let Some(value) = header_attribute(headers, name, false, &mut errors) {
            read.extensions.insert(attribute_name.to_owned(), Value::String(value));
        }
    }
    if read.specversion.as_deref().is_some_and(|v| v != "1.0") {
        errors.push(FieldError::new("Ce-Specversion", "must be 1.0"));
    }
    read.time = time_text.and_then(|text| match platform::timestamp::parse(&text) {
        Ok(at) => Some(at),
        Err(message) => {
            errors.push(FieldError::new("Ce-Time", message));
            None
        }
    });
    let checked_type = read.kind.as_deref().is_some_and(|kind| sender.checks(kind));
    if !body.iter().all(u8::is_ascii_whitespace) || checked_type {
        match parse_strict(body) {
            Ok(value) => read.data = Some(value),
            Err(found) => errors.extend(found),
        }
    }
    read.errors = errors;
    validate(sender, read, &Labels::binary(), received)
}
