//! One customer event as a change to one state item: its key, its order,
//! and the vendor fields it sets or removes.

use aws_sdk_dynamodb::types::AttributeValue;
use intake_queue::{CloudEvent, Event, OpenEnum};

use crate::s;

/// A customer event as a change to one state item.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `provider#subject`.
    pub pk: String,
    pub provider: String,
    pub subject: String,
    pub event_id: String,
    pub event_type: String,
    pub event_time: String,
    pub received_time: String,
    pub dedupekey: String,
    /// Sorts like (`time`, `receivedtime`, `id`): later events sort higher.
    pub order_key: String,
    pub data: String,
    /// The vendor's fields: a value to set, or `None` to remove it.
    pub set: Vec<(&'static str, Option<AttributeValue>)>,
}

impl Change {
    /// The change `event` makes, `None` for an event type without customer
    /// state, an error for one that cannot be ordered (never the case for
    /// what the intake queued).
    pub fn of(event: &Event) -> Result<Option<Self>, String> {
        match event {
            Event::Artemis(e) => {
                let d = &e.data;
                let set = vec![
                    ("status", Some(s(d.status.as_str()))),
                    ("riskRating", d.risk_rating.as_ref().map(|r| s(r.as_str()))),
                    ("customerType", Some(s(d.customer_type.as_str()))),
                    ("customerId", Some(AttributeValue::N(d.customer_id.to_string()))),
                ];
                Self::new(e, &d.customer_reference_id, set).map(Some)
            }
            Event::AmlyzeCustomerUpdated(e) => {
                let d = &e.data;
                let flag = |v: Option<bool>| v.map(AttributeValue::Bool);
                // Only what this event reported: a null keeps the stored value.
                let set = [
                    ("sanctioned", flag(d.sanctioned)),
                    ("pep", flag(d.pep)),
                    ("inAdverseMedia", flag(d.in_adverse_media)),
                    ("inInternalList", flag(d.in_internal_list)),
                    ("riskLevel", d.risk_level.as_ref().map(|r| s(r.as_str()))),
                    ("screeningStatus", d.status.as_ref().map(|r| s(r.as_str()))),
                    ("updatedAt", d.updated_at.as_ref().map(|u| s(u.as_str()))),
                ]
                .into_iter()
                .filter(|(_, value)| value.is_some())
                .collect();
                Self::new(e, &d.customer_external_id, set).map(Some)
            }
            Event::Other(_) => Ok(None),
        }
    }

    fn new<D: serde::Serialize + intake_queue::Data>(
        event: &CloudEvent<D>,
        data_subject: &str,
        set: Vec<(&'static str, Option<AttributeValue>)>,
    ) -> Result<Self, String> {
        let subject = event.subject.clone().unwrap_or_else(|| data_subject.to_owned());
        let data = serde_json::to_string(&event.data).map_err(|e| e.to_string())?;
        Ok(Self {
            pk: format!("{}#{subject}", event.provider),
            provider: event.provider.clone(),
            subject,
            event_id: event.id.clone(),
            event_type: event.kind.clone(),
            event_time: event.time.clone(),
            received_time: event.receivedtime.clone(),
            dedupekey: event.dedupekey.clone(),
            order_key: order_key(&event.time, &event.receivedtime, &event.id)?,
            data,
            set,
        })
    }
}

/// `time`, then `receivedtime`, then `id`, as one string whose byte order is
/// their order: each instant as nanoseconds since 1970 shifted to be
/// positive and zero-padded (any RFC 3339 year, 0000–9999, any offset).
pub fn order_key(time: &str, received: &str, id: &str) -> Result<String, String> {
    const SHIFT: i128 = 10_i128.pow(30);
    let instant = |text: &str| {
        platform::timestamp::parse(text)
            .map(|at| at.unix_timestamp_nanos() + SHIFT)
            .map_err(|e| format!("time: {e}"))
    };
    Ok(format!("{:031}|{:031}|{id}", instant(time)?, instant(received)?))
}
