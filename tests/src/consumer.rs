//! The reference consumer's local platform: a state table on moto's
//! DynamoDB, the consumer built against it, and queue messages as the SQS
//! event source mapping hands them to a function.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use customer_state::publish::Topics;
use customer_state::transition::{AlertRules, Pointers};
use customer_state::Consumer;

use crate::sqs::{local_config, Received};

/// A DynamoDB client for `endpoint`, with the project's SDK settings.
pub async fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_config(platform::aws::sdk_defaults(), endpoint).await)
}

/// A fresh state table (the template's key design: `pk`, `sk`, both strings).
pub async fn create_table(client: &aws_sdk_dynamodb::Client, prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    client
        .create_table()
        .table_name(&name)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create_table");
    name
}

/// Every item of `table`, sorted by key.
pub async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let key = |item: &HashMap<String, AttributeValue>| {
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        (text("pk"), text("sk"))
    };
    items.sort_by_key(key);
    items
}

/// A consumer of `table` (and `dead_letter_queue`) on the server at `endpoint`.
pub async fn consumer(endpoint: &str, table: &str, dead_letter_queue: Option<&str>) -> Consumer {
    let config = local_config(platform::aws::sdk_defaults(), endpoint).await;
    Consumer {
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        table: table.to_owned(),
        dead_letter_queue: dead_letter_queue.map(str::to_owned),
        topics: Topics {
            sns: aws_sdk_sns::Client::new(&config),
            transitions: None,
            alerts: None,
            rules: AlertRules::default(),
            pointers: Pointers::default(),
        },
    }
}

/// An SNS topic on moto, and the queues subscribed to it.
pub struct Topic {
    pub arn: String,
    pub fifo: bool,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

/// One message a subscribed queue received: its body, and the message
/// attributes SNS delivered with it (raw delivery).
#[derive(Debug, Clone)]
pub struct Delivered {
    pub body: String,
    pub attributes: HashMap<String, String>,
}

impl Delivered {
    /// The body as a transition.
    pub fn transition(&self) -> intake_queue::Transition {
        intake_queue::Transition::from_json(&self.body)
            .unwrap_or_else(|e| panic!("not a transition ({e}): {}", self.body))
    }
}

impl Topic {
    /// A fresh topic (`<prefix>-<n>`, `.fifo` when `fifo`) on the server at `endpoint`.
    pub async fn create(endpoint: &str, prefix: &str, fifo: bool) -> Topic {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let config = local_config(platform::aws::sdk_defaults(), endpoint).await;
        let sns = aws_sdk_sns::Client::new(&config);
        let mut name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut create = sns.create_topic();
        if fifo {
            name.push_str(".fifo");
            create = create.attributes("FifoTopic", "true");
        }
        let arn = create
            .name(name)
            .send()
            .await
            .expect("create_topic")
            .topic_arn
            .expect("an ARN");
        Topic {
            arn,
            fifo,
            sns,
            sqs: aws_sdk_sqs::Client::new(&config),
        }
    }

    /// A fresh queue subscribed with `filter_policy` (on the message
    /// attributes), with raw delivery (the body is the message) or without
    /// (the body is SNS's JSON envelope, with the subject); its URL.
    pub async fn subscribe_queue(&self, name: &str, filter_policy: Option<&str>, raw: bool) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut name = format!(
            "{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut create = self.sqs.create_queue();
        if self.fifo {
            name.push_str(".fifo");
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let url = create
            .queue_name(&name)
            .send()
            .await
            .expect("create_queue")
            .queue_url
            .expect("a URL");
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes")
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("a queue ARN");
        let mut subscribe = self
            .sns
            .subscribe()
            .topic_arn(&self.arn)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", raw.to_string());
        if let Some(policy) = filter_policy {
            subscribe = subscribe.attributes("FilterPolicy", policy);
        }
        subscribe.send().await.expect("subscribe");
        url
    }

    /// Everything `queue` holds now (received and deleted), oldest first on a FIFO queue.
    pub async fn drain(&self, queue: &str) -> Vec<Delivered> {
        let mut delivered = Vec::new();
        loop {
            let page = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive_message");
            let messages = page.messages.unwrap_or_default();
            if messages.is_empty() {
                return delivered;
            }
            for message in messages {
                let attributes = message
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, value)| (name, value.string_value.unwrap_or_default()))
                    .collect();
                delivered.push(Delivered {
                    body: message.body.unwrap_or_default(),
                    attributes,
                });
                if let Some(handle) = message.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(queue)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete_message");
                }
            }
        }
    }
}

/// A message as the event source mapping hands it to the function.
pub fn sqs_message(received: &Received, queue_arn: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(received.message_id.clone());
    message.receipt_handle = Some(format!("handle-{}", received.message_id));
    message.body = Some(received.body.clone());
    message.event_source = Some("aws:sqs".to_owned());
    message.event_source_arn = Some(queue_arn.to_owned());
    message.aws_region = Some("us-east-1".to_owned());
    if let Some(group) = &received.group_id {
        message.attributes.insert("MessageGroupId".to_owned(), group.clone());
    }
    message
}

/// A batch of `messages`.
pub fn sqs_event(messages: &[Received]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| sqs_message(m, "arn:aws:sqs:us-east-1:123456789012:events"))
        .collect();
    event
}

/// A string attribute of an item (empty when absent).
pub fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}
