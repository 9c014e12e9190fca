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

use clap::Parser;
use time::OffsetDateTime;

use ops::apps::Apps;
use ops::redrive::{redrive, redrive_archived, Summary};

/// Redrives quarantined requests through the current pipeline: a dry run
/// unless --apply (QUEUE_URL and QUARANTINE_QUEUE_URL as for the functions).
#[derive(Parser)]
#[command(name = "redrive")]
struct Args {
    /// Enqueue what passes (and delete those quarantine messages).
    #[arg(long)]
    apply: bool,
    /// Read the archive's quarantine records instead of the queue (past
    /// SQS's 14 days): ARCHIVE_BUCKET, or FILEs of archive NDJSON.
    #[arg(long, requires_all = ["since", "until"])]
    from_archive: bool,
    /// With --from-archive: records received at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = rfc3339, requires = "from_archive")]
    since: Option<OffsetDateTime>,
    /// With --from-archive: records received before this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = rfc3339, requires = "from_archive")]
    until: Option<OffsetDateTime>,
    /// With --from-archive: files of archive NDJSON (default .local/archive.ndjson).
    #[arg(value_name = "FILE", requires = "from_archive")]
    files: Vec<String>,
}

fn rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    platform::timestamp::parse(text)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // The intake logs each request it reruns as the functions do; here, on stderr.
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    // The report is stdout; what a rerun logs and counts goes to stderr.
    intake::metrics_to_stderr();
    let args = Args::parse();
    let apply = args.apply;
    let Ok(apps) = Apps::from_env().await.inspect_err(|err| eprintln!("redrive: {err}")) else {
        return ExitCode::FAILURE;
    };
    if let (true, Some(since), Some(until)) = (args.from_archive, args.since, args.until) {
        return from_archive(&args.files, (since, until), &apps, apply).await;
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

async fn from_archive(
    files: &[String],
    window: (OffsetDateTime, OffsetDateTime),
    apps: &Apps,
    apply: bool,
) -> ExitCode {
    let archive = match ops::history::read_archive(files).await {
        Ok(archive) => archive,
        Err(err) => {
            eprintln!("redrive: {err}");
            return ExitCode::FAILURE;
        }
    };
    for skipped in &archive.skipped {
        println!("skipped      {skipped}");
    }
    let (messages, unreadable) = intake::kept::join_parts(archive.text.lines());
    if unreadable > 0 {
        eprintln!("redrive: {unreadable} archive lines could not be read or joined; they are left out");
    }
    let summary = redrive_archived(&messages, window, apps, apply, |line| println!("{line}")).await;
    print_summary(&summary, apply);
    ExitCode::SUCCESS
}
