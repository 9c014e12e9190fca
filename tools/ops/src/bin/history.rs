//! One customer's timeline from the archive (`make history SUBJECT=…` or
//! `CUSTOMER_ID=…`):
//!
//!   history --subject CUST-000123 [--customer-id 123456] [FILE…]
//!
//! Reads the archive's NDJSON records from FILEs (default: `.local/archive.ndjson`,
//! which `make demo` writes), or, with ARCHIVE_BUCKET set, from that S3
//! bucket (GZIP objects as Firehose delivers them; AWS settings from the
//! environment): only the keys the archive's stream writes
//! (`kind=event|quarantine/dt=…/`), and in each only the records of that
//! kind; what it leaves out it says. Parted records are joined again.

use std::process::ExitCode;

use clap::Parser;
use ops::history::{print, timeline, Customer};

/// One customer's timeline from the archive (make history SUBJECT=… or CUSTOMER_ID=…).
#[derive(Parser)]
#[command(name = "history")]
struct Args {
    /// The event subject: Artemis's CUST-… id or Amlyze's customerExternalID.
    #[arg(long, value_name = "SUBJECT")]
    subject: Option<String>,
    /// Artemis's numeric customer id.
    #[arg(long, value_name = "ARTEMIS_ID")]
    customer_id: Option<String>,
    /// Files of archive NDJSON (default .local/archive.ndjson, from make demo);
    /// with ARCHIVE_BUCKET set, that S3 bucket instead.
    #[arg(value_name = "FILE")]
    files: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        subject,
        customer_id,
        files,
    } = Args::parse();
    // make passes both, one of them empty.
    let customer = Customer {
        subject: subject.filter(|s| !s.is_empty()),
        customer_id: customer_id.filter(|s| !s.is_empty()),
    };
    if customer.subject.is_none() && customer.customer_id.is_none() {
        eprintln!("history: --subject or --customer-id is required (make history SUBJECT=…)");
        return ExitCode::FAILURE;
    }
    let archive = match ops::history::read_archive(&files).await {
        Ok(archive) => archive,
        Err(err) => {
            eprintln!("history: {err}");
            return ExitCode::FAILURE;
        }
    };
    for skipped in &archive.skipped {
        eprintln!("history: skipped {skipped}");
    }
    let (messages, unreadable) = intake::kept::join_parts(archive.text.lines());
    let entries = timeline(&messages, &customer);
    print(&entries);
    println!(
        "{} entries for this customer, among {} archived messages{}",
        entries.len(),
        messages.len(),
        if unreadable > 0 {
            format!(" ({unreadable} lines not readable)")
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}
