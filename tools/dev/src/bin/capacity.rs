//! `make bench-capacity`: how long one request holds an execution
//! environment while SQS and Firehose answer at a normal latency, at 100 ms,
//! at 1 s, throttle, or do not answer (`dev::bench::capacity`). Prints the
//! table of BENCHMARKS.md and, with `CAPACITY_OUT=path`, writes the figures
//! that docs/capacity.md's arithmetic and check-template.py use.

use dev::bench::capacity;
use harness::emulator::function_binary;

#[tokio::main]
async fn main() {
    let results = capacity::measure(&function_binary("sqs-stub")).await;
    capacity::print(&results);
    if let Ok(path) = std::env::var("CAPACITY_OUT") {
        let date = time::OffsetDateTime::now_utc().date().to_string();
        let json = capacity::to_json(&results, &date);
        let text = serde_json::to_string_pretty(&json).expect("JSON") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("writing {path}: {err}"));
        println!("\nwritten to {path}");
    }
}
