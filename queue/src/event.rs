//! The events queue: one CloudEvents 1.0 structured JSON event per message.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::amlyze::{self, CustomerUpdated};
use crate::artemis::{self, Customer};

/// A CloudEvents 1.0 event as this intake writes it to the queue, with its
/// `data` of type `D` (any JSON, possibly absent, by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(bound(serialize = "D: Serialize + Data", deserialize = "D: Deserialize<'de>"))]
pub struct CloudEvent<D = Option<Value>> {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Artemis: unique per delivery (stable across the intake's own retries
    /// and replays of the same request). Amlyze: the sender's `Ce-Id`.
    pub id: String,
    /// `"artemis"`, or Amlyze's `Ce-Source`.
    pub source: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whom the event is about: Artemis `customerReferenceId`, Amlyze
    /// `customerExternalID` (absent only for event types without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it happened (RFC 3339, UTC): Artemis: when the intake received
    /// it; Amlyze: `Ce-Time`, else `updatedAt`, else when it was received.
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The event's data (absent only for an event type sent without data).
    #[serde(skip_serializing_if = "Data::is_absent")]
    pub data: D,
    /// Extension: the vendor, `"artemis"` or `"amlyze"`.
    pub provider: String,
    /// Extension: what a consumer deduplicates on. Artemis: the vendor's
    /// key (equal for a repeat and for a return to an earlier state); Amlyze:
    /// from source and id.
    pub dedupekey: String,
    /// Extension: when the intake received the request (RFC 3339, UTC).
    pub receivedtime: String,
    /// Other attributes the sender set (extensions, `dataschema`), unchanged.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// What can stand in [`CloudEvent::data`]: typed data is always present.
pub trait Data {
    /// `true` when the event has no data (the attribute is left out).
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T> Data for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}
impl Data for Customer {}
impl Data for CustomerUpdated {}

impl<D> CloudEvent<D> {
    /// The same event with its data converted by `f`.
    pub fn try_map_data<E, T>(self, f: impl FnOnce(D) -> Result<T, E>) -> Result<CloudEvent<T>, E> {
        Ok(CloudEvent {
            data: f(self.data)?,
            specversion: self.specversion,
            id: self.id,
            source: self.source,
            kind: self.kind,
            subject: self.subject,
            time: self.time,
            datacontenttype: self.datacontenttype,
            provider: self.provider,
            dedupekey: self.dedupekey,
            receivedtime: self.receivedtime,
            extensions: self.extensions,
        })
    }
}

/// How a probe's type ends: Artemis `co.cynopsis.artemis.customer.probe`
/// (action `PROBE`), Amlyze `com.webhook-intake.probe`. Neither vendor
/// documents an action or type of that name.
pub const PROBE_TYPE_SUFFIX: &str = ".probe";
/// The subject of every probe (Artemis `customerReferenceId`, Amlyze
/// `Ce-Subject`): no customer's.
pub const PROBE_SUBJECT: &str = "webhook-intake-probe";

/// Any message of the events queue, typed by what it is about.
///
/// Deserializes from a queue body (and so works as the body type of
/// `aws_lambda_events::sqs::SqsEventObj<Event>`); serializes back to the same
/// JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An Artemis customer event (`data.action` tells insert, update, or an
    /// action Artemis added later).
    Artemis(Box<CloudEvent<Customer>>),
    /// An Amlyze `com.amlyze.customer.updated` event.
    AmlyzeCustomerUpdated(Box<CloudEvent<CustomerUpdated>>),
    /// Any other CloudEvent (other Amlyze types), its data kept as it came.
    Other(Box<CloudEvent>),
}

/// Which typed variant an event of this `provider` and `kind` belongs to.
fn typed_kind(provider: &str, kind: &str) -> Option<fn(CloudEvent) -> Result<Event, String>> {
    fn typed<T: DeserializeOwned>(event: CloudEvent) -> Result<CloudEvent<T>, String> {
        let kind = event.kind.clone();
        event.try_map_data(|data| {
            let data = data.ok_or_else(|| format!("a {kind} event without data"))?;
            serde_json::from_value(data).map_err(|e| format!("the data of a {kind} event: {e}"))
        })
    }
    if provider == artemis::PROVIDER && kind.starts_with(artemis::TYPE_PREFIX) {
        Some(|e| typed(e).map(|e| Event::Artemis(Box::new(e))))
    } else if provider == amlyze::PROVIDER && kind == amlyze::CUSTOMER_UPDATED {
        Some(|e| typed(e).map(|e| Event::AmlyzeCustomerUpdated(Box::new(e))))
    } else {
        None
    }
}

impl Event {
    /// Types `event`; an error when its type is a known one but its data does
    /// not fit (never the case for what the intake queued).
    pub fn from_cloud_event(event: CloudEvent) -> Result<Self, String> {
        match typed_kind(&event.provider, &event.kind) {
            Some(typed) => typed(event),
            None => Ok(Self::Other(Box::new(event))),
        }
    }

    /// Reads a queue body.
    pub fn from_json(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// The attributes every event has, whatever its data.
    pub fn attributes(&self) -> Attributes<'_> {
        macro_rules! attributes {
            ($e:expr) => {
                Attributes {
                    id: &$e.id,
                    source: &$e.source,
                    kind: &$e.kind,
                    subject: $e.subject.as_deref(),
                    time: &$e.time,
                    provider: &$e.provider,
                    dedupekey: &$e.dedupekey,
                    receivedtime: &$e.receivedtime,
                }
            };
        }
        match self {
            Self::Artemis(e) => attributes!(e),
            Self::AmlyzeCustomerUpdated(e) => attributes!(e),
            Self::Other(e) => attributes!(e),
        }
    }

    /// `true` for a deployment's probe (`make verify`): its type ends in
    /// [`PROBE_TYPE_SUFFIX`]. A probe went through the whole intake with a
    /// real token, but no vendor sent it: consumers skip it.
    pub fn is_probe(&self) -> bool {
        self.attributes().kind.ends_with(PROBE_TYPE_SUFFIX)
    }

    /// The enum fields of the data whose value this build does not know (the
    /// vendor added a value): still valid, but worth a look.
    pub fn unknown_enum_fields(&self) -> Vec<&'static str> {
        match self {
            Self::Artemis(e) => e.data.unknown_enum_fields(),
            Self::AmlyzeCustomerUpdated(e) => e.data.unknown_enum_fields(),
            Self::Other(_) => Vec::new(),
        }
    }
}

/// The attributes of an [`Event`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes<'a> {
    /// The event's `id`.
    pub id: &'a str,
    /// The event's `source`.
    pub source: &'a str,
    /// The event's `type`.
    pub kind: &'a str,
    /// The event's `subject` (whom it is about).
    pub subject: Option<&'a str>,
    /// The event's `time`.
    pub time: &'a str,
    /// The vendor's name.
    pub provider: &'a str,
    /// The vendor's idempotency key.
    pub dedupekey: &'a str,
    /// When the intake received it.
    pub receivedtime: &'a str,
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let event = CloudEvent::deserialize(deserializer)?;
        Self::from_cloud_event(event).map_err(De::Error::custom)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Artemis(e) => e.serialize(serializer),
            Self::AmlyzeCustomerUpdated(e) => e.serialize(serializer),
            Self::Other(e) => e.serialize(serializer),
        }
    }
}
