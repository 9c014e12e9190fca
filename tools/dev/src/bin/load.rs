//! `make load`: the load run with zero-loss reconciliation, at full size.
//!
//!   load [REQUESTS] [CONCURRENCY] [PROCESSES] [FIFO_REQUESTS]   (defaults 10000 16 4 2000)
//!
//! Runs REQUESTS against a standard events queue, then FIFO_REQUESTS against a
//! FIFO one (fewer: moto's FIFO deduplication scans the whole queue);
//! exits 1 if anything was lost, duplicated beyond what the senders were
//! told, or answered other than planned.

use std::process::ExitCode;

use clap::Parser;
use dev::load;
use harness::Moto;

/// The load run with zero-loss reconciliation (make load): exits 1 if anything
/// was lost, duplicated beyond what the senders were told, or answered other
/// than planned.
#[derive(Parser)]
#[command(name = "load")]
struct Args {
    /// Requests against a standard events queue.
    #[arg(default_value_t = 10_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(default_value_t = 16)]
    concurrency: usize,
    /// Function processes per vendor.
    #[arg(default_value_t = 4)]
    processes: usize,
    /// Requests against a FIFO events queue (fewer: moto's FIFO deduplication
    /// scans the whole queue).
    #[arg(default_value_t = 2_000)]
    fifo_requests: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        requests,
        concurrency,
        processes,
        fifo_requests,
    } = Args::parse();
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
