//! Re-enqueues requests that no queue could take, from the functions' logs.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… recover [--vouched] LOG_FILE…   (or `make recover LOG=…`)
//!
//! Each `unqueued_request` record is validated again as it was received (same
//! ids): valid events go to QUEUE_URL, invalid requests to QUARANTINE_QUEUE_URL.
//! Records that passed no sender check (`unauthorized`, `unreadable-event`)
//! are left and counted, unless `--vouched` says a person has checked them.
//! Each `unarchived_record` (a kept message the archive refused) goes to
//! ARCHIVE_STREAM as it was. Exits non-zero if any record could not be stored.

use std::process::ExitCode;

use clap::Parser;

use intake::kept::quarantine_or_log;
use intake::kept::Archiver;
use intake::pipeline::validate_and_enqueue;
use intake::pipeline::Rejection;
use ops::apps::Apps;
use ops::recover::{needs_a_person, records_in_log, request_of, unarchived_in_log};

/// Re-enqueues what the functions logged because no queue took it, and
/// archives what the archive refused (QUEUE_URL, QUARANTINE_QUEUE_URL and
/// ARCHIVE_STREAM as for the functions).
#[derive(Parser)]
#[command(name = "recover")]
struct Args {
    /// A person has checked the records that passed no sender check
    /// (unauthorized, unreadable-event): recover those too.
    #[arg(long)]
    vouched: bool,
    /// The functions' log files (JSON lines, as CloudWatch Logs exports them).
    #[arg(value_name = "LOG_FILE", required = true)]
    files: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args { vouched, files } = Args::parse();
    let Ok(apps) = Apps::from_env().await.inspect_err(|err| eprintln!("recover: {err}")) else {
        return ExitCode::FAILURE;
    };
    let (mut queued, mut quarantined, mut archived, mut failed, mut left) = (0, 0, 0, 0, 0);
    for file in &files {
        let log = match std::fs::read_to_string(file) {
            Ok(log) => log,
            Err(err) => {
                eprintln!("recover: {file}: {err}");
                return ExitCode::FAILURE;
            }
        };
        for line in unarchived_in_log(&log) {
            match archive_again(&apps, &line).await {
                Ok(()) => {
                    println!("archived     {}", ops::recover::describe_archive_record(&line));
                    archived += 1;
                }
                Err(why) => {
                    eprintln!("FAILED       {}: {why}", ops::recover::describe_archive_record(&line));
                    failed += 1;
                }
            }
        }
        for record in records_in_log(&log) {
            if let (Some(why), false) = (needs_a_person(&record), vouched) {
                println!(
                    "left         {} {} received {}: {why}, passed no sender check (--vouched once a person has checked it)",
                    record.provider, record.request_id, record.receivedtime
                );
                left += 1;
                continue;
            }
            let found =
                request_of(&record).and_then(|(provider, incoming, at)| Some((apps.of(provider)?, incoming, at)));
            let Some((app, incoming, received)) = found else {
                eprintln!(
                    "skipped a record that names no known provider or time: {}",
                    record.receivedtime
                );
                failed += 1;
                continue;
            };
            let provider = app.config.provider;
            match validate_and_enqueue(app, &incoming, received).await {
                Ok(accepted) => {
                    println!(
                        "queued       {} {} received {}",
                        provider.name(),
                        accepted.ids.join(","),
                        record.receivedtime
                    );
                    queued += 1;
                }
                Err(rejection @ Rejection::Invalid(_))
                    if quarantine_or_log(&app.keeper(), &incoming, &rejection, received).await =>
                {
                    println!(
                        "quarantined  {} received {}: {rejection}",
                        provider.name(),
                        record.receivedtime
                    );
                    quarantined += 1;
                }
                Err(rejection) => {
                    eprintln!(
                        "FAILED       {} received {}: {rejection}",
                        provider.name(),
                        record.receivedtime
                    );
                    failed += 1;
                }
            }
        }
    }
    println!(
        "{queued} queued, {quarantined} quarantined, {archived} archived, {failed} failed, {left} left for a person"
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Puts one logged archive record back into the archive of its provider's
/// function (ARCHIVE_STREAM), byte for byte.
async fn archive_again(apps: &Apps, line: &str) -> Result<(), String> {
    let provider = ops::recover::provider_of_archive_record(line).ok_or("names no known provider")?;
    let app = apps.of(provider).ok_or("names no known provider")?;
    let archiver: &Archiver<_> = app.archiver.as_ref().ok_or("ARCHIVE_STREAM is not set")?;
    archiver
        .send(vec![format!("{line}\n").into_bytes()], intake::pipeline::PUBLISH_BUDGET)
        .await
        .map_err(|(_, why)| why)
}
