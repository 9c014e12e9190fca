//! The reference consumer (`customer-state`) in the local stack: under its
//! own Runtime API, on a DynamoDB table of the local moto server, handed
//! what each fixture queued as the SQS event source would, publishing its
//! transitions and alerts to SNS topics of the same server, each read by a
//! subscribed queue.

use std::sync::Mutex;
use std::time::Duration;

use harness::consumer::Topic;
use harness::emulator::RuntimeApi;
use harness::function::{function_binary, local_env, Function};
use harness::sqs::Received;
use intake_queue::Transition;
use serde_json::Value;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The reference consumer under its own Runtime API, and its table.
pub struct LocalConsumer {
    api: RuntimeApi,
    _function: Function,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    /// The transitions topic (FIFO when the events queue is) and the queue
    /// subscribed to it with raw delivery.
    transitions: (Topic, String),
    /// The alert topic (always standard) and its queue.
    alerts: (Topic, String),
    /// Every transition read so far, in arrival order.
    seen: Mutex<Vec<Transition>>,
}

impl LocalConsumer {
    pub async fn start(endpoint: &str, logs: &std::path::Path, fifo: bool) -> Result<LocalConsumer, String> {
        let dynamodb = harness::consumer::dynamodb(endpoint).await;
        let table = harness::consumer::create_table(&dynamodb, "customer-state").await;
        let topic = Topic::create(endpoint, "transitions", fifo).await;
        let topic_queue = topic.subscribe_queue("transitions", None, true).await;
        let alert = Topic::create(endpoint, "alerts", false).await;
        let alert_queue = alert.subscribe_queue("alerts", None, true).await;
        let api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
        let log = logs.join("customer-state.log");
        let _ = std::fs::remove_file(&log);
        let env = local_env(
            endpoint,
            &[
                ("TABLE_NAME", table.as_str()),
                ("TRANSITIONS_TOPIC_ARN", topic.arn.as_str()),
                ("ALERT_TOPIC_ARN", alert.arn.as_str()),
            ],
        );
        let binary = function_binary("customer-state");
        let function = Function::spawn(&binary, &api, "customer-state", &env, Some(&log)).map_err(|e| e.to_string())?;
        eprintln!(
            "consumer table {table}\ntransitions    {}\nalerts         {}",
            topic.arn, alert.arn
        );
        Ok(LocalConsumer {
            api,
            _function: function,
            dynamodb,
            table,
            transitions: (topic, topic_queue),
            alerts: (alert, alert_queue),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The transitions and alert texts published since the last call (and
    /// keeps the transitions for [`Self::print`] and [`Self::seen`]).
    pub async fn published(&self) -> (Vec<Transition>, Vec<String>) {
        let (topic, queue) = &self.transitions;
        let transitions: Vec<Transition> = topic
            .drain(queue)
            .await
            .into_iter()
            .filter_map(|d| Transition::from_json(&d.body).ok())
            .collect();
        let (alert, queue) = &self.alerts;
        let alerts = alert.drain(queue).await.into_iter().map(|d| d.body).collect();
        if let Ok(mut seen) = self.seen.lock() {
            seen.extend(transitions.iter().cloned());
        }
        (transitions, alerts)
    }

    /// Every transition read so far, in arrival order.
    pub fn seen(&self) -> Vec<Transition> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Hands `messages` to the consumer as one SQS batch; the ids it failed.
    pub async fn deliver(&self, messages: &[Received]) -> Result<Vec<String>, String> {
        let event = serde_json::to_vec(&harness::consumer::sqs_event(messages)).map_err(|e| e.to_string())?;
        let response = self.api.invoke(&event, INVOKE_TIMEOUT).await?;
        let answer: Value = serde_json::from_slice(&response).map_err(|e| e.to_string())?;
        Ok(answer["batchItemFailures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Prints the current state per customer and vendor, and the event records.
    pub async fn print(&self) {
        let items = harness::consumer::scan(&self.dynamodb, &self.table).await;
        let text = |item: &std::collections::HashMap<_, _>, key: &str| harness::consumer::text(item, key);
        let states: Vec<_> = items.iter().filter(|i| text(i, "sk") == "state").collect();
        println!("\ncustomer state ({}, {} customers)", self.table, states.len());
        println!("{:<52} {:>7}  {:<24} state", "customer (pk)", "version", "last event");
        println!("{}", "-".repeat(120));
        for item in &states {
            let fields: Vec<String> = [
                "status",
                "riskRating",
                "sanctioned",
                "pep",
                "inAdverseMedia",
                "inInternalList",
                "riskLevel",
                "screeningStatus",
            ]
            .iter()
            .filter_map(|name| {
                let value = item.get(*name)?;
                let shown = value
                    .as_s()
                    .cloned()
                    .or_else(|_| value.as_bool().map(|b| b.to_string()))
                    .ok()?;
                Some(format!("{name}={shown}"))
            })
            .collect();
            let version = item
                .get("version")
                .and_then(|v| v.as_n().ok())
                .cloned()
                .unwrap_or_default();
            println!(
                "{:<52} {:>7}  {:<24} {}",
                platform::sqs::truncate(&text(item, "pk"), 50),
                version,
                platform::sqs::truncate(&text(item, "eventId"), 22),
                fields.join(" ")
            );
        }
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for item in items.iter().filter(|i| text(i, "sk").starts_with("event#")) {
            *outcomes.entry(text(item, "outcome")).or_default() += 1;
        }
        println!("event records: {outcomes:?}");
        let (_, alerts) = self.published().await;
        let transitions = self.seen();
        let alerted = transitions.iter().filter(|t| !t.alerts.is_empty()).count();
        println!(
            "\ntransitions ({} published to the transitions topic, {alerted} of them alerts; {} alert texts sent)",
            transitions.len(),
            alerts.len()
        );
        println!(
            "{:<40} {:>7}  {:<24} {:<22} what changed",
            "customer", "version", "event", "alert"
        );
        println!("{}", "-".repeat(120));
        for t in &transitions {
            println!("{}", transition_line(t));
        }
    }
}

/// One transition on one line: customer, version, event, alerts, changes.
pub fn transition_line(t: &Transition) -> String {
    let changes: Vec<String> = t
        .changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.old, c.new))
        .collect();
    let alerts: Vec<&str> = t.alerts.iter().map(|a| a.as_str()).collect();
    format!(
        "{:<40} {:>7}  {:<24} {:<22} {}",
        platform::sqs::truncate(&format!("{}#{}", t.vendor, t.subject), 38),
        t.version,
        platform::sqs::truncate(&t.event_id, 22),
        alerts.join(","),
        platform::sqs::truncate(&changes.join("; "), 200)
    )
}
