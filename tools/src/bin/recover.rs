//! Re-enqueues requests that no queue could take, from the functions' logs.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… recover LOG_FILE…   (or `make recover LOG=…`)
//!
//! Each `unqueued_request` record is validated again as it was received (same
//! ids): valid events go to QUEUE_URL, invalid requests to QUARANTINE_QUEUE_URL.
//! Exits non-zero if any record could not be stored.

use std::process::ExitCode;

use intake::handler::replay;
use intake::problem::Rejection;
use intake::quarantine::quarantine_or_log;
use tools::apps::Apps;
use tools::recover::{records_in_log, request_of};

#[tokio::main]
async fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: recover LOG_FILE… (QUEUE_URL and QUARANTINE_QUEUE_URL as for the functions)");
        return ExitCode::FAILURE;
    }
    let Ok(apps) = Apps::from_env().await.inspect_err(|err| eprintln!("recover: {err}")) else {
        return ExitCode::FAILURE;
    };
    let (mut queued, mut quarantined, mut failed) = (0, 0, 0);
    for file in &files {
        let log = match std::fs::read_to_string(file) {
            Ok(log) => log,
            Err(err) => {
                eprintln!("recover: {file}: {err}");
                return ExitCode::FAILURE;
            }
        };
        for record in records_in_log(&log) {
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
            match replay(app, &incoming, received).await {
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
                    if quarantine_or_log(app, &incoming, &rejection, received).await =>
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
    println!("{queued} queued, {quarantined} quarantined, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
