//! Redrive from quarantine: reads every record on the quarantine queue, runs
//! its exact request through the current pipeline ([`intake::handler::replay`],
//! with the record's reception time and request id, so ids and `receivedtime`
//! are the original ones), enqueues what now passes and deletes only those
//! records. Everything else stays on the quarantine queue, counted by the
//! reason it still fails. A dry run (the default) validates without
//! enqueueing or deleting anything.

use std::collections::BTreeMap;

use aws_sdk_sqs::Client;

use crate::apps::Apps;
use crate::recover::request_of;
use intake::handler::{prepare, replay};
use intake::quarantine::QuarantineRecord;

/// What a redrive did, or would do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records whose request passed (enqueued, or would be in a dry run).
    pub passed: usize,
    /// Records left on the quarantine queue, by reason.
    pub left: BTreeMap<String, usize>,
}

impl Summary {
    fn leave(&mut self, reason: &str) {
        *self.left.entry(reason.to_owned()).or_default() += 1;
    }
}

/// Why a record is left without trying it.
fn not_redriven(record: &QuarantineRecord) -> Option<&'static str> {
    if record.body_truncated_from.is_some() {
        // Only the first bytes of a body over MAX_BODY_BYTES were kept.
        return Some("body-truncated");
    }
    if record.reason == "unreadable-event" {
        // The body is a whole Lambda event no front-door format could read.
        return Some("unreadable-event");
    }
    if record.reason == "unauthorized" {
        // The caller's token was wrong; an operator must vouch for it first.
        return Some("unauthorized");
    }
    None
}

/// Redrives every record now on `quarantine_url`; `apply` enqueues and deletes,
/// otherwise nothing changes. `report` gets one line per record.
pub async fn redrive(
    client: &Client,
    quarantine_url: &str,
    apps: &Apps,
    apply: bool,
    mut report: impl FnMut(String),
) -> Result<Summary, aws_sdk_sqs::Error> {
    let mut summary = Summary::default();
    let mut left_handles = Vec::new();
    loop {
        let received = client
            .receive_message()
            .queue_url(quarantine_url)
            .max_number_of_messages(10)
            // Records stay invisible while this run lasts, so none is read twice.
            .visibility_timeout(900)
            .wait_time_seconds(0)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let handle = message.receipt_handle.unwrap_or_default();
            let record: Option<QuarantineRecord> = message.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
            let Some(record) = record else {
                report("left         a message that is not a quarantine record".to_owned());
                summary.leave("unreadable");
                left_handles.push(handle);
                continue;
            };
            let label = format!(
                "{} {} received {}",
                record.provider, record.request_id, record.receivedtime
            );
            if let Some(reason) = not_redriven(&record) {
                report(format!("left         {label}: {reason}"));
                summary.leave(reason);
                left_handles.push(handle);
                continue;
            }
            let Some((app, incoming, at)) =
                request_of(&record).and_then(|(provider, incoming, at)| Some((apps.of(provider)?, incoming, at)))
            else {
                report(format!("left         {label}: names no known provider or time"));
                summary.leave("unreadable");
                left_handles.push(handle);
                continue;
            };
            let outcome = if apply {
                replay(app, &incoming, at).await.map(|accepted| accepted.ids)
            } else {
                prepare(&app.config, &incoming, at)
                    .map(|prepared| prepared.parsed.events.into_iter().map(|e| e.id).collect())
            };
            match outcome {
                Ok(ids) => {
                    if apply {
                        client
                            .delete_message()
                            .queue_url(quarantine_url)
                            .receipt_handle(handle)
                            .send()
                            .await?;
                    } else {
                        left_handles.push(handle);
                    }
                    let verb = if apply { "enqueued    " } else { "would enqueue" };
                    report(format!("{verb} {label}: {}", ids.join(",")));
                    summary.passed += 1;
                }
                Err(rejection) => {
                    report(format!("left         {label}: {}: {rejection}", rejection.reason()));
                    summary.leave(rejection.reason());
                    left_handles.push(handle);
                }
            }
        }
    }
    // What stays (everything, in a dry run) is visible again at once, for the next look.
    for handle in left_handles {
        client
            .change_message_visibility()
            .queue_url(quarantine_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await?;
    }
    Ok(summary)
}
