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
use intake_queue::Transition;
use time::OffsetDateTime;

pub use crate::change::{order_key, Change};
use crate::transition::{self, AlertRules};
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

/// What applying one event did, and what of it is still to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// What handling it did.
    pub outcome: Outcome,
    /// A transition not yet published, or whose alert was not yet sent: the
    /// caller publishes it, then marks it done ([`delivered`]). Kept in the
    /// event's record until then, so a redelivery finds it (an outbox).
    pub pending: Option<Pending>,
}

/// A transition still to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub transition: Transition,
    /// To the transitions topic.
    pub topic: bool,
    /// To the alert topic.
    pub alert: bool,
}

/// Which of a transition's deliveries is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Topic,
    Alert,
}

impl Delivery {
    fn attribute(self) -> &'static str {
        match self {
            Self::Topic => "pendingTopic",
            Self::Alert => "pendingAlert",
        }
    }
}

/// What the consumer publishes: whether a transition waits for the topic
/// and (when it is an alert) for the alert topic, and what is an alert.
#[derive(Debug, Clone, Copy)]
pub struct Publishing<'a> {
    pub topic: bool,
    pub alert: bool,
    pub rules: &'a AlertRules,
}

/// How often the state may change under this event (another consumer
/// applying another event of the same customer, on a standard queue) before
/// it is left to SQS to deliver again.
const RACE_ATTEMPTS: usize = 3;

/// Applies `change` unless the stored state is newer or already this
/// event's; records it as stale when older. The state is read first, so
/// that the transition says what it was; the write is conditional on the
/// version read, so nothing changed in between.
pub async fn apply(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &Change,
    now: OffsetDateTime,
    publishing: Publishing<'_>,
) -> Result<Applied, Failure> {
    for _ in 0..RACE_ATTEMPTS {
        let stored = state_item(dynamodb, table, &change.pk).await?;
        let seen = stored
            .as_ref()
            .and_then(|item| item.get("version"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok());
        let applied_at = platform::timestamp::format_utc(now);
        let old = transition::stored_fields(&change.provider, stored.as_ref());
        let pending =
            transition::between(&old, change, seen.unwrap_or(0) + 1, &applied_at, publishing.rules).map(|transition| {
                Pending {
                    topic: publishing.topic,
                    alert: publishing.alert && !transition.alerts.is_empty(),
                    transition,
                }
            });
        let state = state_update(table, change, &applied_at, stored.is_some().then_some(seen))?;
        let mut extra = Vec::new();
        if let Some(pending) = &pending {
            let json = serde_json::to_string(&pending.transition).map_err(|e| Failure::DynamoDb(e.to_string()))?;
            extra.push(("transition", s(json)));
            for (wanted, delivery) in [(pending.topic, Delivery::Topic), (pending.alert, Delivery::Alert)] {
                if wanted {
                    extra.push((delivery.attribute(), AttributeValue::Bool(true)));
                }
            }
        }
        let marker = event_record(table, change, Outcome::Applied, None, now, extra)?;
        let written = dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build())
            .transact_items(TransactWriteItem::builder().update(state).build())
            .send()
            .await;
        let reasons = match written {
            Ok(_) => {
                return Ok(Applied {
                    outcome: Outcome::Applied,
                    pending: pending.filter(|p| p.topic || p.alert),
                })
            }
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
            // This event's record exists: it was handled before. What it
            // left unpublished is published now.
            return duplicate(dynamodb, table, change).await;
        }
        if let Some(outcome) = not_applied(dynamodb, table, change, now).await? {
            return Ok(Applied { outcome, pending: None });
        }
    }
    Err(Failure::DynamoDb(format!(
        "the state of {} changed under this event {RACE_ATTEMPTS} times; SQS delivers it again",
        change.pk
    )))
}

/// The stored state item, read consistently (`None` for a new customer).
async fn state_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, Failure> {
    let stored = dynamodb
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s("state"))
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_failure)?;
    Ok(stored.item)
}

/// The update of the state item to `change`: on a new customer only if
/// there is still none (`seen` = `None`), on a stored one only if it is
/// still at the version read (`Some(version)`), older, and not the same
/// vendor state.
fn state_update(table: &str, change: &Change, applied_at: &str, seen: Option<Option<u64>>) -> Result<Update, Failure> {
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
        (":now", s(applied_at)),
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
    let newer = "orderKey < :order AND dedupekey <> :dedupekey";
    let condition = match seen {
        None => "attribute_not_exists(pk)".to_owned(),
        Some(Some(version)) => {
            values.insert(":seen".to_owned(), AttributeValue::N(version.to_string()));
            format!("version = :seen AND {newer}")
        }
        Some(None) => format!("attribute_not_exists(version) AND {newer}"),
    };
    Update::builder()
        .table_name(table)
        .key("pk", s(&change.pk))
        .key("sk", s("state"))
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(|e| Failure::DynamoDb(e.to_string()))
}

/// A redelivered event: its record, with what it still has to publish.
async fn duplicate(dynamodb: &aws_sdk_dynamodb::Client, table: &str, change: &Change) -> Result<Applied, Failure> {
    let record = dynamodb
        .get_item()
        .table_name(table)
        .key("pk", s(&change.pk))
        .key("sk", s(format!("event#{}", change.event_id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_failure)?;
    let item = record.item.unwrap_or_default();
    let flag = |delivery: Delivery| matches!(item.get(delivery.attribute()), Some(AttributeValue::Bool(true)));
    let (topic, alert) = (flag(Delivery::Topic), flag(Delivery::Alert));
    let transition = item
        .get("transition")
        .and_then(|v| v.as_s().ok())
        .and_then(|json| Transition::from_json(json).ok());
    let pending = match transition {
        Some(transition) if topic || alert => Some(Pending {
            transition,
            topic,
            alert,
        }),
        _ => None,
    };
    Ok(Applied {
        outcome: Outcome::Duplicate,
        pending,
    })
}

/// Marks one delivery of `change`'s transition done in its event's record.
pub async fn delivered(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &Change,
    delivery: Delivery,
) -> Result<(), Failure> {
    dynamodb
        .update_item()
        .table_name(table)
        .key("pk", s(&change.pk))
        .key("sk", s(format!("event#{}", change.event_id)))
        .update_expression("REMOVE #pending")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#pending", delivery.attribute())
        .send()
        .await
        .map_err(dynamodb_failure)?;
    Ok(())
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
    extra: Vec<(&str, AttributeValue)>,
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
    for (name, value) in extra {
        put = put.item(name, value);
    }
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
/// its record and changes nothing. `None` when neither: the state changed
/// since it was read, and the event is to be applied again.
async fn not_applied(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &Change,
    now: OffsetDateTime,
) -> Result<Option<Outcome>, Failure> {
    let stored = state_item(dynamodb, table, &change.pk).await?.unwrap_or_default();
    let text = |name: &str| {
        stored
            .get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let stored_order = text("orderKey");
    let (outcome, lost_to) = if stored_order.as_str() >= change.order_key.as_str() {
        (Outcome::Stale, Some(stored_order.as_str()))
    } else if text("dedupekey") == change.dedupekey {
        (Outcome::Repeat, None)
    } else {
        return Ok(None);
    };
    let record = event_record(table, change, outcome, lost_to, now, Vec::new())?;
    let recorded = dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(record.item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match recorded {
        Ok(_) => Ok(Some(outcome)),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            Ok(Some(Outcome::Duplicate))
        }
        Err(e) => Err(dynamodb_failure(e)),
    }
}
