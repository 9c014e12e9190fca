//! The CloudEvents 1.0 HTTP binding, for any sender that speaks it: binary
//! mode (attributes in `Ce-*` headers, data in the body), structured mode (the
//! whole event as `application/cloudevents+json`) and batch mode
//! (`application/cloudevents-batch+json`, an array of structured events).
//!
//! The binding checks the context attributes; a [`Sender`] adds the rules for
//! the data of the event types it knows (Amlyze: `customer.updated`). Every
//! mode ends in the same tail, [`queue_event`].

mod binary;
mod structured;
#[cfg(test)]
mod tests;

use lambda_http::http::HeaderMap;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::egress::envelope::{dedupe_key, CloudEvent};
use crate::egress::problem::FieldError;
use crate::ingress::request::{is_json_media_type, media_type};
use crate::vendors::fields::join;
use crate::vendors::strict_json::parse_strict;
use crate::vendors::vendor::{Parsed, Vendor};
use platform::timestamp::format_utc;

/// The content type of CloudEvents structured mode.
pub const STRUCTURED: &str = "application/cloudevents+json";
/// The content type of CloudEvents batch mode.
pub const BATCH: &str = "application/cloudevents-batch+json";

/// The most events one batch-mode request may carry: ten `SendMessageBatch`
/// calls, well inside the publishing time budget. More is a 400.
pub const MAX_BATCH_EVENTS: usize = 100;

/// What a CloudEvents sender adds to the binding: a [`Vendor`] (whose name
/// is written as `provider` and is part of every event's dedupe key) with
/// data rules.
pub trait Sender: Vendor {
    /// Whether the data of events of type `kind` is checked by [`Sender::data`]
    /// (and so must be JSON and present). Other types pass their data as is.
    fn checks(&self, kind: &str) -> bool;
    /// Validates and normalizes the data of an event of a checked type;
    /// `path` is where the data stands in the request, for error fields.
    fn data(&self, kind: &str, data: &Value, path: &str) -> Result<TypedData, Vec<FieldError>>;
}

/// The data of a checked event type, validated and normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedData {
    /// The normalized data, as it goes on the queue.
    pub data: Value,
    /// Whom the data is about; becomes the event's `subject`, which must agree
    /// with it when the sender set one.
    pub subject: String,
    /// The data field that names the subject, for the disagreement message.
    pub subject_field: &'static str,
    /// When the data says the change happened: the event's time when the
    /// sender set no `time`.
    pub time: Option<OffsetDateTime>,
    /// Enum fields whose value this build does not know.
    pub unknown_enum_fields: Vec<&'static str>,
}

/// Validates and normalizes one request, in whichever mode it came.
pub fn parse(
    sender: &dyn Sender,
    headers: &HeaderMap,
    body: &[u8],
    received: OffsetDateTime,
) -> Result<Parsed, Vec<FieldError>> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(media_type);
    let (checked, batch) = match content_type.as_deref() {
        Some(STRUCTURED) => {
            let value = parse_strict(body)?;
            (vec![structured::event(sender, &value, "", received)?], false)
        }
        Some(BATCH) => (structured::batch(sender, body, received)?, true),
        _ => (vec![binary::event(sender, headers, body, received)?], false),
    };
    let mut parsed = Parsed {
        events: Vec::with_capacity(checked.len()),
        batch,
        unknown_enum_fields: Vec::new(),
    };
    for ValidEvent { event, unknown } in checked {
        parsed.events.push(event);
        parsed.unknown_enum_fields.extend(unknown);
    }
    Ok(parsed)
}

/// One event that passed every check.
struct ValidEvent {
    event: CloudEvent,
    unknown: Vec<&'static str>,
}

/// What a mode read from the request: the context attributes (each `None`
/// when absent or wrong, its problem in `errors`), the extensions and the data.
#[derive(Default)]
struct Unvalidated {
    specversion: Option<String>,
    id: Option<String>,
    source: Option<String>,
    kind: Option<String>,
    subject: Option<String>,
    time: Option<OffsetDateTime>,
    datacontenttype: Option<String>,
    extensions: Map<String, Value>,
    data: Option<Value>,
    errors: Vec<FieldError>,
}

/// How error messages name the parts the data rules concern: header names in
/// binary mode, attribute paths in structured mode.
struct Labels {
    subject: String,
    datacontenttype: String,
    /// Where the data stands: `""` in binary mode, where it is the whole body.
    data: String,
}

impl Labels {
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

    /// The data's label when it is missing.
    fn missing_data(&self) -> &str {
        if self.data.is_empty() {
            "body"
        } else {
            &self.data
        }
    }
}

/// The tail every mode shares: the queue event when every attribute is
/// right and the data fits its type; otherwise every problem, the data's own
/// included when its type is known.
fn validate(
    sender: &dyn Sender,
    mut read: Unvalidated,
    labels: &Labels,
    received: OffsetDateTime,
) -> Result<ValidEvent, Vec<FieldError>> {
    let kind = read.kind.take();
    let (id, source, kind) = match (read.specversion.is_some(), read.id.take(), read.source.take(), kind) {
        (true, Some(id), Some(source), Some(kind)) if read.errors.is_empty() => (id, source, kind),
        (_, _, _, kind) => {
            let mut errors = read.errors;
            if let (Some(kind), Some(data)) = (kind, &read.data) {
                if sender.checks(&kind) {
                    if let Err(found) = sender.data(&kind, data, &labels.data) {
                        errors.extend(found);
                    }
                }
            }
            return Err(errors);
        }
    };
    let (data, subject, time, datacontenttype, unknown) = if sender.checks(&kind) {
        let typed = typed_data(sender, &kind, &read, labels)?;
        let time = read.time.or(typed.time);
        (
            Some(typed.data),
            Some(typed.subject),
            time,
            "application/json".to_owned(),
            typed.unknown_enum_fields,
        )
    } else {
        let datacontenttype = read.datacontenttype.unwrap_or_else(|| "application/json".to_owned());
        (read.data, read.subject, read.time, datacontenttype, Vec::new())
    };
    let provider = sender.name();
    let event = CloudEvent {
        specversion: "1.0".to_owned(),
        dedupekey: dedupe_key(&[json!(provider), json!(source), json!(id)]),
        id,
        source,
        kind,
        subject,
        time: format_utc(time.unwrap_or(received)),
        datacontenttype,
        data,
        provider: provider.to_owned(),
        receivedtime: format_utc(received),
        extensions: read.extensions,
    };
    Ok(ValidEvent { event, unknown })
}

/// The checks for a type the sender knows: JSON data that validates, and a
/// subject (when given) equal to the one the data names.
fn typed_data(
    sender: &dyn Sender,
    kind: &str,
    read: &Unvalidated,
    labels: &Labels,
) -> Result<TypedData, Vec<FieldError>> {
    let mut errors = Vec::new();
    let (datacontenttype, data, subject) = (
        read.datacontenttype.as_deref(),
        read.data.as_ref(),
        read.subject.as_deref(),
    );
    if datacontenttype.is_some_and(|t| !is_json_media_type(&media_type(t))) {
        errors.push(FieldError::new(
            labels.datacontenttype.clone(),
            format!("must be a JSON type for {kind}"),
        ));
    }
    let Some(data) = data else {
        errors.push(FieldError::new(
            labels.missing_data(),
            format!("is required for {kind}"),
        ));
        return Err(errors);
    };
    let typed = match sender.data(kind, data, &labels.data) {
        Ok(typed) => typed,
        Err(found) => {
            errors.extend(found);
            return Err(errors);
        }
    };
    if let Some(subject) = subject.filter(|s| *s != typed.subject) {
        errors.push(FieldError::new(
            labels.subject.clone(),
            format!("{subject:?} disagrees with {} {:?}", typed.subject_field, typed.subject),
        ));
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(errors)
    }
}
