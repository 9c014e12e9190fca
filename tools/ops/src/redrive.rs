//! Redrive from quarantine: reads every record on the quarantine queue, runs
//! its exact request through the current pipeline ([`intake::App::rerun`],
//! with the record's reception time and request id, so ids and `receivedtime`
//! are the original ones), enqueues what now passes and deletes only those
//! records. Everything else stays on the quarantine queue (not quarantined a
//! second time), counted by the reason it still fails. A dry run (the
//! default) validates without enqueueing, deleting, logging or counting
//! anything ([`intake::App::check_rerun`]).

use std::collections::BTreeMap;

use aws_sdk_sqs::Client;

use crate::apps::Apps;
use crate::recover::request_of;
use intake::kept::QuarantineRecord;
use intake::pipeline::KeptIn;

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
    crate::recover::needs_a_person(record)
}

fn label_of(record: &QuarantineRecord) -> String {
    format!(
        "{} {} received {}",
        record.provider, record.request_id, record.receivedtime
    )
}

fn passed_line(apply: bool, label: &str, ids: &[String]) -> String {
    let verb = if apply { "enqueued    " } else { "would enqueue" };
    format!("{verb} {label}: {}", ids.join(","))
}

/// One record through the current pipeline: the ids of its events (enqueued
/// when `apply`), or why it is left (the reason, and a line for a person).
async fn redrive_one(record: &QuarantineRecord, apps: &Apps, apply: bool) -> Result<Vec<String>, (String, String)> {
    if let Some(reason) = not_redriven(record) {
        return Err((reason.to_owned(), reason.to_owned()));
    }
    let unknown = || ("unreadable".to_owned(), "names no known provider or time".to_owned());
    let (provider, incoming, at) = request_of(record).ok_or_else(unknown)?;
    let app = apps.of(provider).ok_or_else(unknown)?;
    let outcome = if apply {
        let settled = app.rerun(&incoming, at, KeptIn::Quarantine).await;
        settled.outcome.map(|accepted| accepted.ids)
    } else {
        app.check_rerun(&incoming, at)
    };
    outcome.map_err(|rejection| {
        (
            rejection.reason().to_owned(),
            format!("{}: {rejection}", rejection.reason()),
        )
    })
}

/// Redrives the archive's quarantine records received in `[since, until)`
/// (RFC 3339 times, compared as instants) through the current pipeline: for
/// records SQS no longer holds (past its 14 days). Ids derive from the
/// record as before, so a FIFO queue or a consumer sees copies of events it
/// already has, never new ones. `apply` enqueues; the archive keeps every
/// record whatever happens.
pub async fn redrive_archived(
    messages: &[intake::kept::ArchivedMessage],
    window: (time::OffsetDateTime, time::OffsetDateTime),
    apps: &Apps,
    apply: bool,
    mut report: impl FnMut(String),
) -> Summary {
    let mut summary = Summary::default();
    for message in messages.iter().filter(|m| m.kind == "quarantine") {
        let Ok(at) = platform::timestamp::parse(&message.receivedtime) else {
            summary.leave("unreadable");
            continue;
        };
        if at < window.0 || at >= window.1 {
            continue;
        }
        let Ok(record) = serde_json::from_str::<QuarantineRecord>(&message.message) else {
            report("left         an archived message that is not a quarantine record".to_owned());
            summary.leave("unreadable");
            continue;
        };
        let label = label_of(&record);
        match redrive_one(&record, apps, apply).await {
            Ok(ids) => {
                report(passed_line(apply, &label, &ids));
                summary.passed += 1;
            }
            Err((reason, why)) => {
                report(format!("left         {label}: {why}"));
                summary.leave(&reason);
            }
        }
    }
    summary
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
            let label = label_of(&record);
            match redrive_one(&record, apps, apply).await {
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
                    report(passed_line(apply, &label, &ids));
                    summary.passed += 1;
                }
                Err((reason, why)) => {
                    report(format!("left         {label}: {why}"));
                    summary.leave(&reason);
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
