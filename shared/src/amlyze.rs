//! Amlyze (AML screening) webhooks: CloudEvents 1.0 over HTTP, in binary mode
//! (attributes in `Ce-*` headers, data in the body), structured mode (the whole
//! event as `application/cloudevents+json`) and batch mode
//! (`application/cloudevents-batch+json`, an array of structured events).

use lambda_http::http::HeaderMap;
use percent_encoding::percent_decode;
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::enums::{RiskLevel, ScreeningStatus};
use crate::envelope::{dedupe_key, is_attribute_name, CloudEvent, OWN_ATTRIBUTES};
use crate::json::{expect_object, join, parse_strict, type_name, Fields, Presence};
use crate::problem::FieldError;
use crate::request::{is_json_media_type, media_type};
use crate::timestamp::format_utc;

/// The event type whose data this service validates; other types are passed on
/// with their data as-is.
pub const CUSTOMER_UPDATED: &str = "com.amlyze.customer.updated";

pub const STRUCTURED: &str = "application/cloudevents+json";
pub const BATCH: &str = "application/cloudevents-batch+json";

/// The most events one batch-mode request may carry: ten `SendMessageBatch`
/// calls, well inside the publishing time budget. More is a 400.
pub const MAX_BATCH_EVENTS: usize = 100;

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

/// Validated `com.amlyze.customer.updated` data. A screening flag that was not
/// reported stays `null`: absent never means `false`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerUpdated {
    #[serde(rename = "customerExternalID")]
    pub customer_external_id: String,
    pub sanctioned: Option<bool>,
    pub pep: Option<bool>,
    pub in_adverse_media: Option<bool>,
    pub in_internal_list: Option<bool>,
    pub risk_level: Option<RiskLevel>,
    pub status: Option<ScreeningStatus>,
    /// As the sender wrote it (from `updatedAt` or `updateAt`).
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CustomerUpdated {
    /// Validates event data; `prefix` is the path of the data in the request
    /// (`""` in binary mode, `data` or `[i].data` otherwise).
    pub fn from_value(value: &Value, prefix: &str) -> Result<(Self, Option<OffsetDateTime>), Vec<FieldError>> {
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
        let risk_level = fields.additive("riskLevel", Presence::Optional);
        let status = fields.additive("status", Presence::Optional);
        let updated = aliased(&mut fields, "updatedAt", "updateAt", Fields::timestamp);
        let extra = fields.extra(DATA_FIELDS);
        let errors = fields.finish();
        match customer_external_id {
            Some(customer_external_id) if errors.is_empty() => {
                let (updated_at, updated) = updated.map_or((None, None), |(text, at)| (Some(text), Some(at)));
                let data = Self {
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

/// CloudEvents context attributes as received, before the data is checked.
struct Attributes {
    id: String,
    source: String,
    kind: String,
    subject: Option<String>,
    time: Option<OffsetDateTime>,
    datacontenttype: Option<String>,
    extensions: Map<String, Value>,
}

/// Field names for error messages: header names in binary mode, attribute
/// paths in structured mode.
struct Names {
    subject: String,
    datacontenttype: String,
    /// `""` in binary mode, where the data is the whole body.
    data: String,
}

impl Names {
    fn structured(prefix: &str) -> Self {
        Self {
            subject: join(prefix, "subject"),
            datacontenttype: join(prefix, "datacontenttype"),
            data: join(prefix, "data"),
        }
    }

    fn binary() -> Self {
        Self {
            subject: "Ce-Subject".to_owned(),
            datacontenttype: "Content-Type".to_owned(),
            data: String::new(),
        }
    }

    fn data_field(&self) -> &str {
        if self.data.is_empty() {
            "body"
        } else {
            &self.data
        }
    }
}

/// Validates and normalizes one Amlyze request, in whichever mode it came.
pub fn parse(headers: &HeaderMap, body: &[u8], received: OffsetDateTime) -> Result<Vec<CloudEvent>, Vec<FieldError>> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(media_type);
    match content_type.as_deref() {
        Some(STRUCTURED) => {
            let value = parse_strict(body)?;
            Ok(vec![from_structured(&value, "", received)?])
        }
        Some(BATCH) => from_batch(body, received),
        _ => Ok(vec![from_binary(headers, body, received)?]),
    }
}

fn from_batch(body: &[u8], received: OffsetDateTime) -> Result<Vec<CloudEvent>, Vec<FieldError>> {
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
        match from_structured(item, &format!("[{index}]"), received) {
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

fn from_structured(value: &Value, prefix: &str, received: OffsetDateTime) -> Result<CloudEvent, Vec<FieldError>> {
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
    let errors = fields.finish();
    let names = Names::structured(prefix);
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
            finish(attributes, data, &names, received)
        }
        (_, _, _, kind) => {
            // Check the data too, so that every problem is reported at once.
            let mut errors = errors;
            if kind.as_deref() == Some(CUSTOMER_UPDATED) {
                if let Some(Err(found)) = data.as_ref().map(|d| CustomerUpdated::from_value(d, &names.data)) {
                    errors.extend(found);
                }
            }
            Err(errors)
        }
    }
}

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

fn from_binary(headers: &HeaderMap, body: &[u8], received: OffsetDateTime) -> Result<CloudEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let specversion = header_attribute(headers, "ce-specversion", true, &mut errors);
    let id = header_attribute(headers, "ce-id", true, &mut errors);
    let source = header_attribute(headers, "ce-source", true, &mut errors);
    let kind = header_attribute(headers, "ce-type", true, &mut errors);
    let subject = header_attribute(headers, "ce-subject", false, &mut errors);
    let time_text = header_attribute(headers, "ce-time", false, &mut errors);
    let mut extensions = Map::new();
    for name in headers.keys().map(|h| h.as_str()) {
        let Some(attribute_name) = name.strip_prefix("ce-") else {
            continue;
        };
        if HEADERS.iter().any(|(h, _)| *h == name) || OWN_ATTRIBUTES.contains(&attribute_name) {
            continue;
        }
        if !is_attribute_name(attribute_name) {
            errors.push(FieldError::new(
                name,
                "is not a valid CloudEvents attribute name (lower-case letters and digits only)",
            ));
        } else if let Some(value) = header_attribute(headers, name, false, &mut errors) {
            extensions.insert(attribute_name.to_owned(), Value::String(value));
        }
    }
    if specversion.as_deref().is_some_and(|v| v != "1.0") {
        errors.push(FieldError::new("Ce-Specversion", "must be 1.0"));
    }
    let time = time_text.and_then(|text| match crate::timestamp::parse(&text) {
        Ok(at) => Some(at),
        Err(message) => {
            errors.push(FieldError::new("Ce-Time", message));
            None
        }
    });
    let data = if body.iter().all(u8::is_ascii_whitespace) && kind.as_deref() != Some(CUSTOMER_UPDATED) {
        None
    } else {
        match parse_strict(body) {
            Ok(value) => Some(value),
            Err(found) => {
                errors.extend(found);
                None
            }
        }
    };
    let names = Names::binary();
    match (specversion, id, source, kind) {
        (Some(_), Some(id), Some(source), Some(kind)) if errors.is_empty() => {
            let attributes = Attributes {
                id,
                source,
                kind,
                subject,
                time,
                datacontenttype: None,
                extensions,
            };
            finish(attributes, data, &names, received)
        }
        (_, _, _, kind) => {
            if let (Some(CUSTOMER_UPDATED), Some(data)) = (kind.as_deref(), &data) {
                if let Err(found) = CustomerUpdated::from_value(data, "") {
                    errors.extend(found);
                }
            }
            Err(errors)
        }
    }
}

/// Checks the data against the event type and builds the queue message.
fn finish(
    attributes: Attributes,
    data: Option<Value>,
    names: &Names,
    received: OffsetDateTime,
) -> Result<CloudEvent, Vec<FieldError>> {
    let Attributes {
        id,
        source,
        kind,
        subject,
        time,
        datacontenttype,
        extensions,
    } = attributes;
    let (data, subject, time, datacontenttype) = if kind == CUSTOMER_UPDATED {
        let (customer, updated) = customer_data(datacontenttype.as_deref(), data.as_ref(), subject.as_deref(), names)?;
        let subject = Some(customer.customer_external_id.clone());
        let data = serde_json::to_value(&customer).unwrap_or(Value::Null);
        (Some(data), subject, time.or(updated), "application/json".to_owned())
    } else {
        (
            data,
            subject,
            time,
            datacontenttype.unwrap_or_else(|| "application/json".to_owned()),
        )
    };
    Ok(CloudEvent {
        specversion: "1.0".to_owned(),
        dedupekey: dedupe_key(&[json!("amlyze"), json!(source), json!(id)]),
        id,
        source,
        kind,
        subject,
        time: format_utc(time.unwrap_or(received)),
        datacontenttype,
        data,
        provider: "amlyze".to_owned(),
        receivedtime: format_utc(received),
        extensions,
    })
}

/// The `com.amlyze.customer.updated` checks: JSON data that validates, and a
/// subject (when given) equal to `customerExternalID`.
fn customer_data(
    datacontenttype: Option<&str>,
    data: Option<&Value>,
    subject: Option<&str>,
    names: &Names,
) -> Result<(CustomerUpdated, Option<OffsetDateTime>), Vec<FieldError>> {
    let mut errors = Vec::new();
    if datacontenttype.is_some_and(|t| !is_json_media_type(&media_type(t))) {
        errors.push(FieldError::new(
            names.datacontenttype.clone(),
            format!("must be a JSON type for {CUSTOMER_UPDATED}"),
        ));
    }
    let Some(data) = data else {
        errors.push(FieldError::new(
            names.data_field(),
            format!("is required for {CUSTOMER_UPDATED}"),
        ));
        return Err(errors);
    };
    let (customer, updated) = match CustomerUpdated::from_value(data, &names.data) {
        Ok(parsed) => parsed,
        Err(found) => {
            errors.extend(found);
            return Err(errors);
        }
    };
    if let Some(subject) = subject.filter(|s| *s != customer.customer_external_id) {
        errors.push(FieldError::new(
            names.subject.clone(),
            format!(
                "{subject:?} disagrees with customerExternalID {:?}",
                customer.customer_external_id
            ),
        ));
    }
    if errors.is_empty() {
        Ok((customer, updated))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;
    use time::macros::datetime;

    const EXAMPLE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");
    const NOW: OffsetDateTime = datetime!(2026-11-23 10:00:00 UTC);
    const SUBJECT: &str = "82deaa92-d559-40bd-96b7-053341a08e28";

    fn binary_headers(extra: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("ce-id", "0412a5ca-3be7-46b7-87de-38366397602e"),
            ("ce-source", "customer"),
            ("ce-type", CUSTOMER_UPDATED),
            ("ce-specversion", "1.0"),
            ("ce-subject", SUBJECT),
            ("ce-time", "2026-03-10t12:53:45.85z"),
        ] {
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
        for (name, value) in extra {
            if value.is_empty() {
                headers.remove(*name);
            } else {
                headers.insert(*name, HeaderValue::from_str(value).unwrap());
            }
        }
        headers
    }

    fn one(headers: &HeaderMap, body: &str) -> CloudEvent {
        let mut events = parse(headers, body.as_bytes(), NOW).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    fn errors(headers: &HeaderMap, body: &str) -> Vec<String> {
        parse(headers, body.as_bytes(), NOW)
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    #[test]
    fn vendor_example_in_binary_mode() {
        let event = one(&binary_headers(&[]), EXAMPLE);
        assert_eq!(event.id, "0412a5ca-3be7-46b7-87de-38366397602e");
        assert_eq!(event.source, "customer");
        assert_eq!(event.kind, CUSTOMER_UPDATED);
        assert_eq!(event.subject.as_deref(), Some(SUBJECT));
        assert_eq!(event.time, "2026-03-10T12:53:45.85Z", "Ce-Time, normalized to UTC");
        assert_eq!(event.receivedtime, "2026-11-23T10:00:00Z");
        assert_eq!(event.provider, "amlyze");
        let data = event.data.unwrap();
        assert_eq!(
            data["updatedAt"], "2019-12-13T12:01:02.694Z",
            "updateAt becomes updatedAt"
        );
        assert!(data.get("updateAt").is_none());
        assert_eq!(data["sanctioned"], true);
        assert_eq!(data["riskLevel"], "EXTREME");
        assert_eq!(data["customerExternalID"], SUBJECT);
    }

    #[test]
    fn time_falls_back_to_updated_at_then_to_reception() {
        let event = one(&binary_headers(&[("ce-time", "")]), EXAMPLE);
        assert_eq!(event.time, "2019-12-13T12:01:02.694Z");
        let body = r#"{"customerExternalID":"82deaa92-d559-40bd-96b7-053341a08e28"}"#;
        let event = one(&binary_headers(&[("ce-time", "")]), body);
        assert_eq!(event.time, "2026-11-23T10:00:00Z");
    }

    #[test]
    fn absent_flags_stay_null_never_false() {
        let body =
            r#"{"customerExternalId":"82deaa92-d559-40bd-96b7-053341a08e28","sanctioned":false,"extraField":[1]}"#;
        let data = one(&binary_headers(&[]), body).data.unwrap();
        assert_eq!(data["sanctioned"], false);
        for flag in [
            "pep",
            "inAdverseMedia",
            "inInternalList",
            "riskLevel",
            "status",
            "updatedAt",
        ] {
            assert_eq!(data.get(flag), Some(&Value::Null), "{flag} present and null");
        }
        assert_eq!(
            data["customerExternalID"], SUBJECT,
            "customerExternalId is accepted, emitted as customerExternalID"
        );
        assert!(data.get("customerExternalId").is_none());
        assert_eq!(data["extraField"], json!([1]));
    }

    #[test]
    fn unknown_enum_values_pass_verbatim() {
        let body = EXAMPLE
            .replace("\"EXTREME\"", "\"CATASTROPHIC\"")
            .replace("\"PENDING\"", "\"ON_REVIEW\"");
        let data = one(&binary_headers(&[]), &body).data.unwrap();
        assert_eq!(data["riskLevel"], "CATASTROPHIC");
        assert_eq!(data["status"], "ON_REVIEW");
    }

    #[test]
    fn percent_encoded_headers_are_decoded() {
        let body = EXAMPLE.replace(SUBJECT, "café");
        let event = one(
            &binary_headers(&[("ce-subject", "caf%C3%A9"), ("ce-source", "https%3A%2F%2Famlyze")]),
            &body,
        );
        assert_eq!(event.subject.as_deref(), Some("café"));
        assert_eq!(event.source, "https://amlyze");
    }

    #[test]
    fn every_binary_mode_problem_is_listed() {
        let headers = binary_headers(&[
            ("ce-id", ""),
            ("ce-specversion", "0.3"),
            ("ce-time", "soon"),
            ("ce-subject", "someone-else"),
        ]);
        let body = r#"{"customerExternalID":"x","sanctioned":"yes","riskLevel":3,"updatedAt":"12/13/2019"}"#;
        let found = errors(&headers, body);
        assert_eq!(
            found,
            [
                "Ce-Id: header is required (CloudEvents binary mode)",
                "Ce-Specversion: must be 1.0",
                "Ce-Time: must be an RFC 3339 timestamp such as 2026-03-10T12:53:45.85Z, not \"soon\"",
                "sanctioned: must be a boolean, not a string",
                "riskLevel: must be a string, not a number",
                "updatedAt: must be an RFC 3339 timestamp such as 2026-03-10T12:53:45.85Z, not \"12/13/2019\"",
            ]
        );
    }

    #[test]
    fn subject_must_agree_with_the_customer() {
        let found = errors(&binary_headers(&[("ce-subject", "someone-else")]), EXAMPLE);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("Ce-Subject: \"someone-else\" disagrees with customerExternalID"),
            "{found:?}"
        );
    }

    #[test]
    fn missing_customer_and_conflicting_aliases() {
        assert_eq!(errors(&binary_headers(&[]), "{}"), ["customerExternalID: is required"]);
        let both = r#"{"customerExternalID":"a","customerExternalId":"b"}"#;
        assert_eq!(
            errors(&binary_headers(&[("ce-subject", "")]), both),
            ["customerExternalId: disagrees with customerExternalID; send one of them"]
        );
        assert!(errors(&binary_headers(&[]), "[]")[0].starts_with("body: must be a JSON object"));
    }

    #[test]
    fn other_types_pass_their_data_as_is() {
        let headers = binary_headers(&[("ce-type", "com.amlyze.case.closed"), ("ce-subject", "")]);
        let event = one(&headers, r#"{"caseId": 7, "anything": {"goes": true}}"#);
        assert_eq!(event.kind, "com.amlyze.case.closed");
        assert_eq!(event.data.unwrap(), json!({"caseId": 7, "anything": {"goes": true}}));
        assert_eq!(event.subject, None);
        let empty = one(&headers, "");
        assert_eq!(empty.data, None);
    }

    #[test]
    fn extension_headers_are_carried_over() {
        let event = one(
            &binary_headers(&[("ce-traceparent", "00-abc-def-01"), ("ce-provider", "spoofed")]),
            EXAMPLE,
        );
        assert_eq!(event.extensions["traceparent"], "00-abc-def-01");
        assert_eq!(event.provider, "amlyze", "our own attributes are not overwritten");
        assert!(!event.extensions.contains_key("provider"));
    }

    fn structured(event: &Value) -> (HeaderMap, String) {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(STRUCTURED));
        (headers, event.to_string())
    }

    fn example_event() -> Value {
        json!({
            "specversion": "1.0",
            "id": "evt-1",
            "source": "customer",
            "type": CUSTOMER_UPDATED,
            "subject": SUBJECT,
            "time": "2026-03-10T12:53:45.850Z",
            "datacontenttype": "application/json",
            "data": serde_json::from_str::<Value>(EXAMPLE).unwrap(),
        })
    }

    #[test]
    fn structured_mode() {
        let (headers, body) = structured(&example_event());
        let event = one(&headers, &body);
        assert_eq!(event.id, "evt-1");
        assert_eq!(event.time, "2026-03-10T12:53:45.85Z");
        assert_eq!(event.data.unwrap()["updatedAt"], "2019-12-13T12:01:02.694Z");
    }

    #[test]
    fn structured_mode_lists_attribute_and_data_problems_together() {
        let mut bad = example_event();
        bad["specversion"] = json!("2.0");
        bad.as_object_mut().unwrap().remove("source");
        bad["data"]["pep"] = json!("no");
        bad["Bad-Name"] = json!(1);
        let (headers, body) = structured(&bad);
        assert_eq!(
            errors(&headers, &body),
            [
                "specversion: must be \"1.0\"",
                "source: is required",
                "Bad-Name: is not a valid CloudEvents attribute name (lower-case letters and digits only)",
                "data.pep: must be a boolean, not a string",
            ]
        );
    }

    #[test]
    fn batch_mode_enqueues_each_event_and_is_all_or_nothing() {
        let mut second = example_event();
        second["id"] = json!("evt-2");
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(BATCH));
        let body = json!([example_event(), second]).to_string();
        let events = parse(&headers, body.as_bytes(), NOW).unwrap();
        assert_eq!(
            events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["evt-1", "evt-2"]
        );
        assert_ne!(events[0].dedupekey, events[1].dedupekey);

        let mut broken = example_event();
        broken["data"]["sanctioned"] = json!(1);
        let body = json!([example_event(), broken, 5]).to_string();
        assert_eq!(
            errors(&headers, &body),
            [
                "[1].data.sanctioned: must be a boolean, not a number",
                "[2]: must be a CloudEvent JSON object, not a number"
            ]
        );
        assert_eq!(errors(&headers, "[]"), ["body: the batch holds no events"]);
        let too_many = json!(vec![example_event(); MAX_BATCH_EVENTS + 1]).to_string();
        assert_eq!(
            errors(&headers, &too_many),
            ["body: the batch holds 101 events; at most 100 are taken in one request"]
        );
        assert_eq!(
            errors(&headers, "{}"),
            ["body: a batch must be a JSON array, not an object"]
        );
    }

    #[test]
    fn dedupe_key_comes_from_source_and_id() {
        let a = one(&binary_headers(&[]), EXAMPLE);
        let b = one(&binary_headers(&[("ce-time", "2027-01-01T00:00:00Z")]), EXAMPLE);
        assert_eq!(a.dedupekey, b.dedupekey);
        let c = one(&binary_headers(&[("ce-source", "other")]), EXAMPLE);
        assert_ne!(a.dedupekey, c.dedupekey);
    }
}
