//! Redrives the quarantine queue through the current pipeline (see
//! `tools::redrive`): dry run by default, `--apply` to enqueue what passes
//! and delete those records.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… redrive [--apply]   (or `make redrive [APPLY=1]`)

use std::process::ExitCode;

use tools::apps::Apps;
use tools::redrive::redrive;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let apply = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => false,
        [flag] if flag == "--apply" => true,
        _ => {
            eprintln!("usage: redrive [--apply]   (QUEUE_URL and QUARANTINE_QUEUE_URL as for the functions)");
            return ExitCode::FAILURE;
        }
    };
    let Ok(apps) = Apps::from_env().await.inspect_err(|err| eprintln!("redrive: {err}")) else {
        return ExitCode::FAILURE;
    };
    let Some(quarantine) = apps.quarantine().cloned() else {
        eprintln!("redrive: QUARANTINE_QUEUE_URL is required but not set");
        return ExitCode::FAILURE;
    };
    match redrive(apps.client(), &quarantine.url, &apps, apply, |line| println!("{line}")).await {
        Ok(summary) => {
            let verb = if apply {
                "enqueued"
            } else {
                "would enqueue (dry run; --apply to do it)"
            };
            println!("{} {verb}", summary.passed);
            for (reason, count) in &summary.left {
                println!("{count} left: {reason}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("redrive: {}", aws_sdk_sqs::error::DisplayErrorContext(&err));
            ExitCode::FAILURE
        }
    }
}
