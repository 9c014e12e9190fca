//! The reference consumer's local platform: a state table on moto's
//! DynamoDB, the consumer built against it, and queue messages as the SQS
//! event source mapping hands them to a function.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
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
