//! One event as a change to a customer's state, and the conditional writes
//! that apply it at most once and never over newer state.
//!
//! The state item (`sk` = `state`) holds: `provider`, `subject`, the last
//! applied event (`eventId`, `eventType`, `eventTime`, `receivedTime`,
//! `dedupekey`, `data` as JSON text), its `orderKey`, `version` (how many
//! events were applied), `appliedAt`, and the vendor's fields for queries:
//! Artemis `status`, `riskRating`, `customerType`, `customerId`; Amlyze
//! `sanctioned`, `pep`, `inAdverseMedia`, `inInternalList`, `riskLevel`,
//! `screeningStatus`, `updatedAt`. An Amlyze field the event did not report
//! (null) keeps its stored value: absent never means false. A stale item
//! (`sk` = `event#<event id>`, `outcome` = `stale`) holds the stale event and the `orderKey` it
//! lost to, and expires after [`STALE_RETENTION`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use intake_queue::{CloudEvent, Event, OpenEnum};
use time::OffsetDateTime;

use crate::{s, Failure};

/// How long a stale event's record is kept (DynamoDB TTL on `expiresAt`).
pub const STALE_RETENTION: time::Duration = time::Duration::days(90);
/// How long the record of an applied or repeated event is kept: longer than
/// SQS keeps a message (14 days at most), so every redelivery finds it.
pub const MARKER_RETENTION: time::Duration = time::Duration::days(15);

/// What handling a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The state now reflects this event.
    Applied,
    /// The same event was applied already (a redelivery): nothing changed.
    Duplicate,
    /// A vendor repeat of the stored state (same `dedupekey`): nothing changed.
    Repeat,
    /// Older than the stored state: recorded as stale, state unchanged.
    Stale,
    /// An event type that carries no customer state.
    Ignored,
    /// Unreadable: sent to the dead-letter queue.
    DeadLettered,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Repeat => "repeat",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::DeadLettered => "dead-lettered",
        }
    }
}

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

/// Applies `change` unless the stored state is newer or already this
/// event's; records it as stale when older.
pub async fn apply(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &Change,
    now: OffsetDateTime,
) -> Result<Outcome, Failure> {
    let mut values: HashMap<String, AttributeValue> = [
        (":provider", s(&change.provider)),
        (":subject", s(&change.subject)),
        (":id", s(&change.event_id)),
        (":type", s(&change.event_type)),
        (":time", s(&change.event_time)),
        (":received", s(&change.received_time)),
        (":dedupekey", s(&change.dedupekey)),
        (":order", s(&change.order_key)),
        (":data", s(&change.data)),
        (":now", s(platform::timestamp::format_utc(now))),
        (":one", AttributeValue::N("1".to_owned())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut assignments = vec![
        "provider = :provider, subject = :subject, eventId = :id, eventType = :type, eventTime = :time",
        "receivedTime = :received, dedupekey = :dedupekey, orderKey = :order, #data = :data, appliedAt = :now",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    let mut removals = Vec::new();
    let mut names = HashMap::from([("#data".to_owned(), "data".to_owned())]);
    for (i, (field, value)) in change.set.iter().enumerate() {
        names.insert(format!("#f{i}"), (*field).to_owned());
        match value {
            Some(value) => {
                values.insert(format!(":f{i}"), value.clone());
                assignments.push(format!("#f{i} = :f{i}"));
            }
            None => removals.push(format!("#f{i}")),
        }
    }
    let mut expression = format!("SET {} ADD version :one", assignments.join(", "));
    if !removals.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removals.join(", ")));
    }
    let state = Update::builder()
        .table_name(table)
        .key("pk", s(&change.pk))
        .key("sk", s("state"))
        .update_expression(expression)
        .condition_expression("attribute_not_exists(pk) OR (orderKey < :order AND dedupekey <> :dedupekey)")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(|e| Failure::DynamoDb(e.to_string()))?;
    let marker = event_record(table, change, Outcome::Applied, None, now)?;
    let written = dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(marker).build())
        .transact_items(TransactWriteItem::builder().update(state).build())
        .send()
        .await;
    let reasons = match written {
        Ok(_) => return Ok(Outcome::Applied),
        Err(SdkError::ServiceError(e)) => match e.into_err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled
                .cancellation_reasons
                .unwrap_or_default()
                .iter()
                .map(|r| r.code().unwrap_or_default() == "ConditionalCheckFailed")
                .collect::<Vec<_>>(),
            other => return Err(dynamodb_failure(other)),
        },
        Err(error) => return Err(dynamodb_failure(error)),
    };
    if reasons.first().copied().unwrap_or(false) {
        // This event's record exists: it was handled before.
        return Ok(Outcome::Duplicate);
    }
    not_applied(dynamodb, table, change, now).await
}

fn dynamodb_failure(error: impl Into<aws_sdk_dynamodb::Error>) -> Failure {
    Failure::DynamoDb(aws_sdk_dynamodb::error::DisplayErrorContext(error.into()).to_string())
}

/// The record of one handled event (`sk` = `event#<id>`), written only if
/// none exists: what makes a redelivery a no-op. A stale event's record keeps
/// the event and the `orderKey` it lost to.
fn event_record(
    table: &str,
    change: &Change,
    outcome: Outcome,
    lost_to: Option<&str>,
    now: OffsetDateTime,
) -> Result<Put, Failure> {
    let retention = if outcome == Outcome::Stale {
        STALE_RETENTION
    } else {
        MARKER_RETENTION
    };
    let mut put = Put::builder()
        .table_name(table)
        .item("pk", s(&change.pk))
        .item("sk", s(format!("event#{}", change.event_id)))
        .item("outcome", s(outcome.name()))
        .item("eventId", s(&change.event_id))
        .item("eventTime", s(&change.event_time))
        .item("orderKey", s(&change.order_key))
        .item("recordedAt", s(platform::timestamp::format_utc(now)))
        .item(
            "expiresAt",
            AttributeValue::N((now + retention).unix_timestamp().to_string()),
        )
        .condition_expression("attribute_not_exists(pk)");
    if let Some(lost_to) = lost_to {
        put = put
            .item("lostTo", s(lost_to))
            .item("eventType", s(&change.event_type))
            .item("receivedTime", s(&change.received_time))
            .item("dedupekey", s(&change.dedupekey))
            .item("data", s(&change.data));
    }
    put.build().map_err(|e| Failure::DynamoDb(e.to_string()))
}

/// Why the state was not written (a vendor repeat, or a stale event), from
/// the stored state; records the event once, so a redelivery of it finds
/// its record and changes nothing.
async fn not_applied(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &Change,
    now: OffsetDateTime,
) -> Result<Outcome, Failure> {
    let stored = dynamodb
        .get_item()
        .table_name(table)
        .key("pk", s(&change.pk))
        .key("sk", s("state"))
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_failure)?;
    let stored_order = stored
        .item()
        .and_then(|item| item.get("orderKey"))
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let (outcome, lost_to) = if stored_order.as_str() < change.order_key.as_str() {
        (Outcome::Repeat, None)
    } else {
        (Outcome::Stale, Some(stored_order.as_str()))
    };
    let record = event_record(table, change, outcome, lost_to, now)?;
    let recorded = dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(record.item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match recorded {
        Ok(_) => Ok(outcome),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(Outcome::Duplicate),
        Err(e) => Err(dynamodb_failure(e)),
    }
}
