//! `make bench-capacity`: how long one request holds an execution
//! environment while SQS and Firehose answer at a normal latency, at 100 ms,
//! at 1 s, throttle, or do not answer (`dev::bench::capacity`). Prints the
//! table of BENCHMARKS.md and, with `CAPACITY_OUT=path`, writes the figures
//! that docs/capacity.md's arithmetic and check-template.py use.

use std::path::PathBuf;

use clap::Parser;
use dev::bench::capacity;
use harness::function::function_binary;

/// How long one request holds an execution environment while SQS and
/// Firehose answer at a normal latency, at 100 ms, at 1 s, throttle, or do
/// not answer (make bench-capacity).
#[derive(Parser)]
#[command(name = "capacity")]
struct Args {
    /// Also write the figures docs/capacity.md and check-template.py use here.
    #[arg(long, env = "CAPACITY_OUT", value_name = "PATH")]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let results = capacity::measure(&function_binary("sqs-stub")).await;
    capacity::print(&results);
    if let Some(path) = args.out {
        let path = path.display().to_string();
        let date = time::OffsetDateTime::now_utc().date().to_string();
        let json = capacity::to_json(&results, &date);
        let text = serde_json::to_string_pretty(&json).expect("JSON") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("writing {path}: {err}"));
        println!("\nwritten to {path}");
    }
}
