//! Redrives the quarantine queue through the current pipeline (see
//! `intake::redrive`): dry run by default, `--apply` to enqueue what passes
//! and delete those records.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… redrive [--apply]   (or `make redrive [APPLY=1]`)

use std::process::ExitCode;

use intake::publisher::sqs_client;
use tools::redrive::redrive;
use intake::{App, Config, Provider};

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
    let client = sqs_client().await;
    let app = |provider| Config::from_env(provider).map(|config| App::new(config, client.clone()));
    let apps = match (app(Provider::Artemis), app(Provider::Amlyze)) {
        (Ok(a), Ok(b)) => [a, b],
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("redrive: {err}");
            return ExitCode::FAILURE;
        }
    };
    let Some(quarantine) = apps[0].config.quarantine.clone() else {
        eprintln!("redrive: QUARANTINE_QUEUE_URL is required but not set");
        return ExitCode::FAILURE;
    };
    match redrive(&client, &quarantine.url, &apps, apply, |line| println!("{line}")).await {
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
