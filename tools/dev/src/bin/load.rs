//! `make load`: the load run with zero-loss reconciliation, at full size.
//!
//!   load [REQUESTS] [CONCURRENCY] [PROCESSES] [FIFO_REQUESTS]   (defaults 10000 16 4 2000)
//!
//! Runs REQUESTS against a standard events queue, then FIFO_REQUESTS against a
//! FIFO one (fewer: moto's FIFO deduplication scans the whole queue);
//! exits 1 if anything was lost, duplicated beyond what the senders were
//! told, or answered other than planned.

use std::process::ExitCode;

use dev::load;
use harness::Moto;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(10_000);
    let concurrency = args.get(1).copied().unwrap_or(16);
    let processes = args.get(2).copied().unwrap_or(4);
    let fifo_requests = args.get(3).copied().unwrap_or(2_000);
    let moto = Moto::start();
    let mut ok = true;
    for fifo in [false, true] {
        let count = if fifo { fifo_requests } else { requests };
        let report = load::run(
            (&moto.endpoint, &moto.raw_endpoint),
            count,
            concurrency,
            processes,
            fifo,
        )
        .await;
        report.print(if fifo { "FIFO queue" } else { "standard queue" });
        ok &= report.zero_loss();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
