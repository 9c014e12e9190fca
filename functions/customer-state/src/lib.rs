//! The reference consumer of the events queue: keeps the current KYC/AML
//! state of each customer, per vendor, in a DynamoDB table.
//!
//! - **Idempotent**: a redelivered message, or a vendor repeat that matches
//!   the stored state (same `dedupekey`), changes nothing: every write is
//!   conditional.
//! - **Order-safe**: an event older than the stored state (by its `time`:
//!   Amlyze's `Ce-Time`/`updatedAt`, Artemis's reception time) never
//!   overwrites it; it is recorded as stale beside the state instead.
//! - **Partial batch failures**: one message that cannot be handled now is
//!   reported alone (`ReportBatchItemFailures`); a body that can never be
//!   read goes to the dead-letter queue at once.
//!
//! The table: partition key `pk` = `provider#subject` (one customer at one
//! vendor), sort key `sk` = `state` for the current state, or
//! `event#<event id>` for each handled event (its outcome; a stale one kept whole), with a TTL attribute.
//! See [`state`] for what an item holds.
//!
//! - **Transitions**: an applied event that changes a state field publishes
//!   one [`intake_queue::Transition`] to `TRANSITIONS_TOPIC_ARN`, and, when it
//!   is an alert (became sanctioned, PEP, or an alert risk level), a short
//!   text to `ALERT_TOPIC_ARN`. Until published, the transition waits in the
//!   event's record: a redelivery after a failure publishes it then, with the
//!   same id ([`transition`], [`publish`]).

pub mod change;
pub mod publish;
pub mod state;
pub mod transition;

use std::collections::HashSet;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use intake_queue::Event;
use time::OffsetDateTime;

use publish::Topics;
use state::{Change, Delivery, Outcome, Publishing};
use transition::{AlertRules, Pointers};

/// What the function needs, built once per execution environment.
pub struct Consumer {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// `TABLE_NAME`.
    pub table: String,
    /// `DEAD_LETTER_QUEUE_URL`: where an unreadable body goes at once. Without
    /// it, the message is reported as failed, and the queue's redrive policy
    /// moves it to its dead-letter queue after `maxReceiveCount` attempts.
    pub dead_letter_queue: Option<String>,
    /// Where transitions and alerts are published.
    pub topics: Topics,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("TABLE_NAME is not set: the DynamoDB table that holds the customer state")]
    NoTable,
    #[error("ALERT_RISK_LEVELS: {0}")]
    AlertRiskLevels(String),
    #[error(transparent)]
    Aws(#[from] platform::aws::MissingSetting),
}

/// Why a message was not handled now (it is reported as a batch item failure
/// and SQS delivers it again).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
    #[error("unreadable ({0}) and no DEAD_LETTER_QUEUE_URL to send it to")]
    Unreadable(String),
    #[error("unreadable ({reason}), and the dead-letter queue refused it: {error}")]
    DeadLetter { reason: String, error: String },
    #[error("an earlier message of the same FIFO message group failed")]
    GroupBlocked,
    #[error("SNS: {0} (the transition waits in the event's record for the redelivery)")]
    Publish(String),
}

impl Consumer {
    /// From the environment (`TABLE_NAME`, `DEAD_LETTER_QUEUE_URL`,
    /// `TRANSITIONS_TOPIC_ARN`, `ALERT_TOPIC_ARN`, `ALERT_RISK_LEVELS`,
    /// `STACK_NAME`) and the project's SDK settings (`platform::aws`).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::NoTable)?;
        let setting = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let dead_letter_queue = setting("DEAD_LETTER_QUEUE_URL");
        // Set but blank (the template's AlertRiskLevels left empty): no risk
        // level is an alert. Unset: the default levels.
        let rules = match std::env::var("ALERT_RISK_LEVELS") {
            Ok(levels) => AlertRules::parse(&levels).map_err(ConfigError::AlertRiskLevels)?,
            Err(_) => AlertRules::default(),
        };
        let config = platform::aws::sdk_config()?;
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&config);
        if let Some(url) = platform::aws::service_endpoint("DYNAMODB") {
            dynamodb = dynamodb.endpoint_url(url);
        }
        let mut sns = aws_sdk_sns::config::Builder::from(&config);
        if let Some(url) = platform::aws::service_endpoint("SNS") {
            sns = sns.endpoint_url(url);
        }
        Ok(Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sqs: platform::aws::sqs(&config),
            table,
            dead_letter_queue,
            topics: Topics {
                sns: aws_sdk_sns::Client::from_conf(sns.build()),
                transitions: setting("TRANSITIONS_TOPIC_ARN"),
                alerts: setting("ALERT_TOPIC_ARN"),
                rules,
                pointers: Pointers {
                    stack: setting("STACK_NAME"),
                },
            },
        })
    }

    /// Handles one message: `Ok` when it needs no further delivery.
    pub async fn process(&self, message: &SqsMessage) -> Result<Outcome, Failure> {
        let body = message.body.as_deref().unwrap_or_default();
        let event = match Event::from_json(body) {
            Ok(event) => event,
            Err(error) => return self.dead_letter(message, &error.to_string()).await,
        };
        if event.is_probe() {
            tracing::info!(
                id = event.attributes().id,
                "a deployment's probe (make verify): not a customer's change"
            );
            return Ok(Outcome::Ignored);
        }
        match Change::of(&event) {
            Ok(Some(change)) => self.apply(&change).await,
            Ok(None) => Ok(Outcome::Ignored),
            Err(reason) => self.dead_letter(message, &reason).await,
        }
    }

    /// Applies one change, then publishes what it (or an earlier delivery
    /// of it) left to publish, marking each delivery done.
    async fn apply(&self, change: &Change) -> Result<Outcome, Failure> {
        let publishing = Publishing {
            topic: self.topics.transitions.is_some(),
            alert: self.topics.alerts.is_some(),
            rules: &self.topics.rules,
        };
        let applied = state::apply(
            &self.dynamodb,
            &self.table,
            change,
            OffsetDateTime::now_utc(),
            publishing,
        )
        .await?;
        if let Some(pending) = &applied.pending {
            for (wanted, delivery) in [(pending.topic, Delivery::Topic), (pending.alert, Delivery::Alert)] {
                if wanted {
                    self.topics.publish(&pending.transition, delivery).await?;
                    state::delivered(&self.dynamodb, &self.table, change, delivery).await?;
                }
            }
            tracing::info!(
                transition = %pending.transition.id,
                version = pending.transition.version,
                changed = ?pending.transition.changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
                alerts = ?pending.transition.alerts,
                "transition published"
            );
        }
        Ok(applied.outcome)
    }

    /// Sends an unreadable message to the dead-letter queue, verbatim, with
    /// why in its attributes.
    async fn dead_letter(&self, message: &SqsMessage, reason: &str) -> Result<Outcome, Failure> {
        let Some(queue) = &self.dead_letter_queue else {
            return Err(Failure::Unreadable(reason.to_owned()));
        };
        let reason = platform::sqs::truncate(reason, 1024);
        let id = message.message_id.clone().unwrap_or_default();
        let attribute = |value: &str| {
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(platform::sqs::attribute_value(value).unwrap_or_else(|| "-".to_owned()))
                .build()
        };
        let mut send = self.sqs.send_message().queue_url(queue).message_body(
            message
                .body
                .clone()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "(empty)".to_owned()),
        );
        for (name, value) in [("reason", reason.as_str()), ("sourceMessageId", id.as_str())] {
            if let Ok(value) = attribute(value) {
                send = send.message_attributes(name, value);
            }
        }
        if queue.ends_with(".fifo") {
            let group = message
                .attributes
                .get("MessageGroupId")
                .cloned()
                .unwrap_or_else(|| "unreadable".to_owned());
            send = send
                .message_group_id(group)
                .message_deduplication_id(platform::sqs::sha256_hex(id.as_bytes()));
        }
        match send.send().await {
            Ok(_) => {
                tracing::warn!(message_id = %id, reason = %reason, "unreadable message sent to the dead-letter queue");
                Ok(Outcome::DeadLettered)
            }
            Err(error) => Err(Failure::DeadLetter {
                reason,
                error: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
            }),
        }
    }
}

/// Handles a batch: each message on its own, the failed ones reported so
/// that only they are delivered again. On a FIFO queue, a failure also fails
/// the later messages of its message group, which must not overtake it.
pub async fn handle(consumer: &Consumer, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    let mut blocked_groups = HashSet::new();
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let group = message.attributes.get("MessageGroupId");
        let result = match group {
            Some(group) if blocked_groups.contains(group) => Err(Failure::GroupBlocked),
            _ => consumer.process(message).await,
        };
        match result {
            Ok(outcome) => *tally.entry(outcome.name()).or_default() += 1,
            Err(failure) => {
                tracing::error!(message_id = %id, error = %failure, "message not handled; SQS will deliver it again");
                *tally.entry("failed").or_default() += 1;
                if let Some(group) = group {
                    blocked_groups.insert(group.clone());
                }
                let mut item = BatchItemFailure::default();
                item.item_identifier = id;
                failures.push(item);
            }
        }
    }
    tracing::info!(messages = event.records.len(), outcomes = ?tally, "batch handled");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// A string attribute value.
fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
