//! Re-enqueues requests that no queue could take, from the functions' logs.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… recover [--vouched] LOG_FILE…   (or `make recover LOG=…`)
//!
//! Each `unqueued_request` record runs through the intake again as it was
//! received (same ids; logged and counted as the functions do): valid events
//! go to QUEUE_URL, what is refused again is kept as the functions keep it
//! (QUARANTINE_QUEUE_URL, or the log on stderr).
//! Records that passed no sender check (`unauthorized`, `unreadable-event`)
//! are left and counted, unless `--vouched` says a person has checked them.
//! Each `unarchived_record` (a kept message the archive refused) goes to
//! ARCHIVE_STREAM as it was. Exits non-zero if any record could not be stored.

use std::process::ExitCode;

use clap::Parser;

use intake::kept::{Archiver, QuarantineRecord};
use intake::pipeline::KeptIn;
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
    // The intake logs each request it reruns as the functions do; here, on stderr.
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    // The report is stdout; what a rerun logs and counts goes to stderr.
    intake::metrics_to_stderr();
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
            match recover_one(&apps, &record, vouched).await {
                Recovered::Queued(line) => {
                    println!("{line}");
                    queued += 1;
                }
                Recovered::Quarantined(line) => {
                    println!("{line}");
                    quarantined += 1;
                }
                Recovered::Left(line) => {
                    println!("{line}");
                    left += 1;
                }
                Recovered::Failed(line) => {
                    eprintln!("{line}");
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

/// What became of one logged request, with the line that says so.
enum Recovered {
    /// SQS took its events.
    Queued(String),
    /// Refused again, and kept in quarantine.
    Quarantined(String),
    /// It passed no sender check, and no person has vouched for it.
    Left(String),
    /// Neither queued nor quarantined: it is still only in the log.
    Failed(String),
}

/// Runs one logged request through the pipeline again ([`intake::App::rerun`]):
/// a refusal is kept as the functions keep one.
async fn recover_one(apps: &Apps, record: &QuarantineRecord, vouched: bool) -> Recovered {
    let received = &record.receivedtime;
    if let (Some(why), false) = (needs_a_person(record), vouched) {
        return Recovered::Left(format!(
            "left         {} {} received {received}: {why}, passed no sender check (--vouched once a person has checked it)",
            record.provider, record.request_id
        ));
    }
    let found = request_of(record).and_then(|(provider, incoming, at)| Some((apps.of(provider)?, incoming, at)));
    let Some((app, incoming, at)) = found else {
        return Recovered::Failed(format!(
            "skipped a record that names no known provider or time: {received}"
        ));
    };
    let provider = app.config.provider.name();
    let settled = app.rerun(&incoming, at, KeptIn::Logs).await;
    match settled.outcome {
        Ok(accepted) => Recovered::Queued(format!(
            "queued       {provider} {} received {received}",
            accepted.ids.join(",")
        )),
        Err(rejection) if settled.quarantined => {
            Recovered::Quarantined(format!("quarantined  {provider} received {received}: {rejection}"))
        }
        Err(rejection) => Recovered::Failed(format!("FAILED       {provider} received {received}: {rejection}")),
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
