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

use ops::history::{print, timeline, Customer};

#[tokio::main]
async fn main() -> ExitCode {
    let mut customer = Customer::default();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--subject" => customer.subject = args.next().filter(|s| !s.is_empty()),
            "--customer-id" => customer.customer_id = args.next().filter(|s| !s.is_empty()),
            _ => files.push(arg),
        }
    }
    if customer.subject.is_none() && customer.customer_id.is_none() {
        eprintln!("usage: history --subject SUBJECT | --customer-id ARTEMIS_ID [FILE…]   (make history SUBJECT=…)");
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
    let (messages, unreadable) = intake::archive::join_parts(archive.text.lines());
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
