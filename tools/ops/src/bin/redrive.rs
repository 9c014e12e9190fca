//! Redrives the quarantine queue through the current pipeline (see
//! `ops::redrive`): dry run by default, `--apply` to enqueue what passes
//! and delete those records.
//!
//!   QUEUE_URL=… QUARANTINE_QUEUE_URL=… redrive [--apply]   (or `make redrive [APPLY=1]`)
//!
//! Past SQS's 14 days, from the archive: the quarantine records received in
//! `[SINCE, UNTIL)`, read from ARCHIVE_BUCKET (S3: only what the stream
//! wrote, `kind=quarantine/dt=…/`, and said what was skipped) or from FILEs
//! of NDJSON records (default `.local/archive.ndjson`). A record whose sender
//! was not established (`unauthorized`, `unreadable-event`) is never
//! redriven:
//!
//!   QUEUE_URL=… redrive --from-archive --since 2026-01-01T00:00:00Z --until 2026-04-01T00:00:00Z [--apply] [FILE…]

use std::process::ExitCode;

use ops::apps::Apps;
use ops::redrive::{redrive, redrive_archived, Summary};

const USAGE: &str = "usage: redrive [--apply]   (QUEUE_URL and QUARANTINE_QUEUE_URL as for the functions)\n       \
    redrive --from-archive --since TIME --until TIME [--apply] [FILE…]   (ARCHIVE_BUCKET, or FILEs of archive NDJSON)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let apply = args.iter().any(|a| a == "--apply");
    let Ok(apps) = Apps::from_env().await.inspect_err(|err| eprintln!("redrive: {err}")) else {
        return ExitCode::FAILURE;
    };
    if args.iter().any(|a| a == "--from-archive") {
        return from_archive(&args, &apps, apply).await;
    }
    if args.iter().any(|a| a != "--apply") {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    }
    let Some(quarantine) = apps.quarantine().cloned() else {
        eprintln!("redrive: QUARANTINE_QUEUE_URL is required but not set");
        return ExitCode::FAILURE;
    };
    match redrive(apps.client(), &quarantine.url, &apps, apply, |line| println!("{line}")).await {
        Ok(summary) => {
            print_summary(&summary, apply);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("redrive: {}", aws_sdk_sqs::error::DisplayErrorContext(&err));
            ExitCode::FAILURE
        }
    }
}

fn print_summary(summary: &Summary, apply: bool) {
    let verb = if apply {
        "enqueued"
    } else {
        "would enqueue (dry run; --apply to do it)"
    };
    println!("{} {verb}", summary.passed);
    for (reason, count) in &summary.left {
        println!("{count} left: {reason}");
    }
}

async fn from_archive(args: &[String], apps: &Apps, apply: bool) -> ExitCode {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|t| platform::timestamp::parse(t).ok())
    };
    let (Some(since), Some(until)) = (value("--since"), value("--until")) else {
        eprintln!("redrive: --from-archive needs --since and --until as RFC 3339 times\n{USAGE}");
        return ExitCode::FAILURE;
    };
    let files: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with("--")
                && !matches!(
                    args.get(i.wrapping_sub(1)).map(String::as_str),
                    Some("--since" | "--until")
                )
        })
        .map(|(_, a)| a.clone())
        .collect();
    let archive = match ops::history::read_archive(&files).await {
        Ok(archive) => archive,
        Err(err) => {
            eprintln!("redrive: {err}");
            return ExitCode::FAILURE;
        }
    };
    for skipped in &archive.skipped {
        println!("skipped      {skipped}");
    }
    let (messages, unreadable) = intake::archive::join_parts(archive.text.lines());
    if unreadable > 0 {
        eprintln!("redrive: {unreadable} archive lines could not be read or joined; they are left out");
    }
    let summary = redrive_archived(&messages, (since, until), apps, apply, |line| println!("{line}")).await;
    print_summary(&summary, apply);
    ExitCode::SUCCESS
}
