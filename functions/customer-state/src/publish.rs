//! Publishing transitions: to the transitions topic with their filter
//! attributes, and alerts as short texts to the alert topic.

use aws_sdk_sns::types::MessageAttributeValue;
use intake_queue::transition::AttributeValue;
use intake_queue::Transition;

use crate::state::Delivery;
use crate::transition::{alert_message, AlertRules, Pointers};
use crate::Failure;

/// Where transitions and alerts go (`TRANSITIONS_TOPIC_ARN`,
/// `ALERT_TOPIC_ARN`, `ALERT_RISK_LEVELS`, `STACK_NAME`); neither topic set:
/// nothing is published.
#[derive(Debug, Clone)]
pub struct Topics {
    pub sns: aws_sdk_sns::Client,
    /// Every transition, with message attributes for filter policies.
    pub transitions: Option<String>,
    /// Alerts only, as text (an email subscription reads them as they are).
    pub alerts: Option<String>,
    pub rules: AlertRules,
    pub pointers: Pointers,
}

/// The largest message a topic takes by default, body and attributes
/// (`MaximumMessageSize`, 262,144 bytes: docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

impl Topics {
    /// Publishes one of `transition`'s deliveries. Both carry the
    /// transition's message attributes, so that filter policies work on
    /// either topic; the transitions topic gets the JSON, the alert topic
    /// a text and a subject line.
    pub async fn publish(&self, transition: &Transition, delivery: Delivery) -> Result<(), Failure> {
        let (topic, message, subject) = match delivery {
            Delivery::Topic => (
                &self.transitions,
                platform::sqs::sqs_safe_json(
                    serde_json::to_string(transition).map_err(|e| Failure::Publish(e.to_string()))?,
                ),
                None,
            ),
            Delivery::Alert => {
                let (subject, text) = alert_message(transition, &self.pointers);
                (&self.alerts, text, Some(subject))
            }
        };
        let Some(topic) = topic else {
            return Ok(());
        };
        let attributes = attributes(transition);
        let size = message.len()
            + attributes
                .iter()
                .map(|(name, data_type, value)| name.len() + data_type.len() + value.len())
                .sum::<usize>();
        if size > MAX_MESSAGE_BYTES {
            return Err(Failure::Publish(format!(
                "{topic}: the message would be {size} bytes, over SNS's {MAX_MESSAGE_BYTES}"
            )));
        }
        let mut publish = self
            .sns
            .publish()
            .topic_arn(topic)
            .message(message)
            .set_subject(subject);
        for (name, data_type, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| Failure::Publish(e.to_string()))?;
            publish = publish.message_attributes(name, value);
        }
        if topic.ends_with(".fifo") {
            // One customer's transitions in order; a copy within five minutes dropped.
            let group = platform::sqs::sha256_hex(format!("{}#{}", transition.vendor, transition.subject).as_bytes());
            publish = publish.message_group_id(group).message_deduplication_id(&transition.id);
        }
        publish
            .send()
            .await
            .map_err(|e| Failure::Publish(format!("{topic}: {}", aws_sdk_sns::error::DisplayErrorContext(e))))?;
        Ok(())
    }
}

/// The transition's message attributes as SNS takes them (name, data type,
/// value), each value one an SQS subscription with raw delivery accepts:
/// a value with characters SQS refuses gets U+FFFD in their place, a long
/// one its digest (`platform::sqs::attribute_value`).
pub fn attributes(transition: &Transition) -> Vec<(&'static str, &'static str, String)> {
    transition
        .attributes()
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match &value {
                AttributeValue::String(text) => platform::sqs::attribute_value(text)?,
                AttributeValue::Array(_) => value.text(),
            };
            Some((name, value.data_type(), text))
        })
        .collect()
}
