//! The Lambda-sized part of `make bench`: every process run with the memory
//! limit and CPU share of a Lambda size (128, 256, 512, 1,769 MB by default,
//! `BENCH_SIZES`), over TLS against the SQS stub: cold start (init, first
//! call, spawn → first 2xx) with the init throttled and with a full-vCPU
//! init, warm p50/p99 and peak RSS; then what a million webhooks cost at
//! each size. The rows go to a JSON file that `scripts/plot-bench.py` draws.
//!
//! Where no CPU cgroup can be made, the rows run unthrottled and say so.

use std::time::Duration;

use harness::function::{Cgroups, LambdaSize};
use serde::Serialize;

use crate::bench::{
    cold_once, floor_of, has_goal, ms, verdict, warm_section, ColdStats, RawCalls, Variant, Warm, WarmRun,
    ARCHIVE_VARIANT, RAW_PAIR,
};

/// The sizes measured unless `BENCH_SIZES` says otherwise.
pub const SIZES: [u64; 4] = [128, 256, 512, 1769];

/// How init runs in a cold start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// At the size's CPU share, like the invocation.
    Throttled,
    /// On one full vCPU, throttled from the first poll of the Runtime API.
    FullCpu,
}

impl Init {
    pub const ALL: [Init; 2] = [Init::Throttled, Init::FullCpu];

    fn describe(self) -> &'static str {
        match self {
            Init::Throttled => "init at the size's CPU share",
            Init::FullCpu => "init on one full vCPU, then the size's share",
        }
    }
}

/// Prices in us-east-1 (arm64), USD, as published in 2026-11.
pub mod prices {
    /// Lambda arm64 compute, per GB-second (first 7.5 billion GB-s a month).
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda requests, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// API Gateway REST API calls, per call (first 333 million a month).
    pub const REST_API_CALL: f64 = 3.50 / 1e6;
    /// SQS standard queue requests, per 64 KiB chunk (one per webhook).
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
}

/// Dollars per million webhooks: the fixed part (requests, REST API, SQS)
/// plus Lambda's compute for `billed_ms` (rounded up to the millisecond, as
/// Lambda bills) at `memory_mb`.
pub fn dollars_per_million(memory_mb: u64, billed_ms: f64) -> f64 {
    let compute = memory_mb as f64 / 1024.0 * billed_ms.ceil() / 1000.0 * prices::LAMBDA_GB_SECOND;
    1e6 * (compute + prices::LAMBDA_REQUEST + prices::REST_API_CALL + prices::SQS_REQUEST)
}

/// One process at one size: what the JSON file holds and the plot draws.
#[derive(Serialize)]
pub struct Row {
    pub memory_mb: u64,
    pub init: Init,
    pub label: String,
    /// Whether the CPU share was in force (false: no CPU cgroup here).
    pub cpu_limited: bool,
    pub init_p50_ms: f64,
    pub first_call_p50_ms: f64,
    pub cold_p50_ms: f64,
    pub cold_p90_ms: f64,
    /// Warm figures and peak RSS are measured with a throttled process, so
    /// they are on the `Throttled` rows only.
    pub warm_p50_ms: Option<f64>,
    pub warm_p99_ms: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// The harness's own warm `SendMessage` (unthrottled) in the same run:
    /// with bare's warm p50, the floor of the warm goal.
    pub raw_send_p50_ms: Option<f64>,
    /// Every webhook a cold start (init and first call billed) / all warm.
    pub cost_cold: f64,
    pub cost_warm: Option<f64>,
}

/// `BENCH_SIZES` (comma-separated MB), else [`SIZES`].
pub fn sizes() -> Vec<u64> {
    let asked: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|mb| (128..=10_240).contains(mb))
        .collect();
    if asked.is_empty() {
        SIZES.to_vec()
    } else {
        asked
    }
}

/// Whether a CPU cgroup can be made here (root, cgroup v1 `cpu` controller).
pub fn cpu_cgroups_work() -> bool {
    Cgroups::make(LambdaSize::lambda(128, false)).cpu_limited()
}

/// Where the sized runs go.
pub struct Setup<'a> {
    pub variants: &'a [Variant],
    /// The environment against the TLS stub.
    pub env: &'a [(String, String)],
    pub raw: RawCalls<'a>,
    pub cold_runs: usize,
    pub warm_rounds: usize,
}

/// Cold starts (both init modes) and a warm run of every variant at every
/// size; prints a table per size and returns the rows.
pub async fn run(setup: &Setup<'_>) -> Vec<Row> {
    let limited = cpu_cgroups_work();
    if !limited {
        println!("\n!!! no CPU cgroup could be made here (needs root and cgroup v1 `cpu`): the per-size rows below run UNTHROTTLED, with the memory limit only where that cgroup works !!!");
    }
    let mut rows = Vec::new();
    for memory_mb in sizes() {
        let quota = LambdaSize::lambda(memory_mb, false).cpu_quota_us();
        println!(
            "\n== {memory_mb} MB: {:.1} % of a vCPU, over TLS against the SQS stub ==",
            quota as f64 / 1000.0
        );
        for init in Init::ALL {
            let size = LambdaSize::lambda(memory_mb, init == Init::FullCpu);
            let colds = cold_runs(setup, size).await;
            println!(
                "  cold start, {} ({} runs each, interleaved)",
                init.describe(),
                setup.cold_runs
            );
            println!(
                "    {:<22} {:>10} {:>10} {:>13} {:>10} {:>10}",
                "process", "init p50", "1st call", "spawn→2xx p50", "p90", "over bare"
            );
            let bare = colds[0].p50;
            for (variant, stats) in setup.variants.iter().zip(&colds) {
                let over = stats.p50 - bare;
                let goal = match (variant.is_bare(), has_goal(&variant.label) && memory_mb == 128) {
                    (true, _) => String::new(),
                    (false, true) => format!("{over:+10.2}   (goal at 128 MB ≤ +10 ms: {})", verdict(over <= 10.0)),
                    (false, false) => format!("{over:+10.2}"),
                };
                println!(
                    "    {:<22} {:>10.2} {:>10.2} {:>13.2} {:>10.2} {goal}",
                    variant.label, stats.init_p50, stats.call_p50, stats.p50, stats.p90
                );
                rows.push(Row {
                    memory_mb,
                    init,
                    label: variant.label.clone(),
                    cpu_limited: limited,
                    init_p50_ms: stats.init_p50,
                    first_call_p50_ms: stats.call_p50,
                    cold_p50_ms: stats.p50,
                    cold_p90_ms: stats.p90,
                    warm_p50_ms: None,
                    warm_p99_ms: None,
                    peak_rss_mb: None,
                    raw_send_p50_ms: None,
                    cost_cold: dollars_per_million(memory_mb, stats.p50),
                    cost_warm: None,
                });
            }
        }
        let warm = warm_at(setup, memory_mb).await;
        print_warm_at(memory_mb, setup.warm_rounds, &warm);
        for result in &warm[1..] {
            if let Some(row) = rows
                .iter_mut()
                .find(|r| r.memory_mb == memory_mb && r.init == Init::Throttled && r.label == result.label)
            {
                row.warm_p50_ms = Some(ms(result.p50));
                row.warm_p99_ms = Some(ms(result.p99));
                row.peak_rss_mb = Some(result.hwm_kb as f64 / 1024.0);
                row.raw_send_p50_ms = Some(ms(warm[0].p50));
                row.cost_warm = Some(dollars_per_million(memory_mb, ms(result.p50)));
            }
        }
    }
    print_costs(&rows);
    rows
}

/// `cold_runs` cold starts of every variant at `size`, interleaved.
async fn cold_runs(setup: &Setup<'_>, size: LambdaSize) -> Vec<ColdStats> {
    let mut samples: Vec<Vec<crate::bench::Cold>> = setup.variants.iter().map(|_| Vec::new()).collect();
    for _ in 0..setup.cold_runs {
        for (variant, samples) in setup.variants.iter().zip(samples.iter_mut()) {
            samples.push(cold_once(variant, setup.env, size).await);
        }
    }
    samples.iter().map(|runs| ColdStats::of(runs)).collect()
}

/// A warm run at the size's CPU share, one invocation every few ms per
/// process (a throttled process invoked back to back would spend its quota).
async fn warm_at(setup: &Setup<'_>, memory_mb: u64) -> Vec<Warm> {
    let run = WarmRun {
        size: LambdaSize::lambda(memory_mb, false),
        pause: Duration::from_millis(10),
    };
    warm_section(setup.variants, setup.env, &setup.raw, setup.warm_rounds, None, run).await
}

fn print_warm_at(memory_mb: u64, rounds: usize, results: &[Warm]) {
    println!("  warm, at the size's CPU share: {rounds} rounds, 10 ms apart");
    for result in results {
        let ratio = result.p50.as_secs_f64() / floor_of(&result.label, results).as_secs_f64();
        let goal = if result.label.starts_with("raw") || result.label == "bare" {
            String::new()
        } else if has_goal(&result.label) && memory_mb == 128 {
            format!(
                "  {ratio:.3} × floor (goal at 128 MB ≤ 1.05: {})",
                verdict(ratio <= 1.05)
            )
        } else {
            format!("  {ratio:.3} × floor")
        };
        let rss = if result.hwm_kb > 0 {
            format!("  peak RSS {:>6.2} MB", result.hwm_kb as f64 / 1024.0)
        } else {
            String::new()
        };
        println!(
            "    {:<24} p50 {:>8.3} ms   p99 {:>8.3} ms{rss}{goal}",
            result.label,
            ms(result.p50),
            ms(result.p99)
        );
    }
    println!(
        "    {:<24} p50 {:>8.3} ms",
        "floor (bare + raw send)",
        ms(floor_of("", results))
    );
    if results.iter().any(|r| r.label == RAW_PAIR) {
        println!(
            "    {:<24} p50 {:>8.3} ms   (the floor of {ARCHIVE_VARIANT})",
            "floor (bare + raw pair)",
            ms(floor_of(ARCHIVE_VARIANT, results))
        );
    }
}

/// Dollars per million webhooks per size, for the processes that send (the
/// bare floor sends nothing, so it has no row).
fn print_costs(rows: &[Row]) {
    println!("\nUSD per million webhooks (us-east-1 arm64: Lambda GB-s with init billed, Lambda requests, REST API, one SQS send)");
    println!(
        "  fixed part: ${:.2} (requests {:.2} + REST API {:.2} + SQS {:.2}); compute from the throttled-init runs",
        1e6 * (prices::LAMBDA_REQUEST + prices::REST_API_CALL + prices::SQS_REQUEST),
        1e6 * prices::LAMBDA_REQUEST,
        1e6 * prices::REST_API_CALL,
        1e6 * prices::SQS_REQUEST
    );
    println!(
        "  {:<24} {:>7} {:>16} {:>16}",
        "process", "MB", "all warm", "all cold starts"
    );
    for row in rows.iter().filter(|r| r.init == Init::Throttled && r.label != "bare") {
        println!(
            "  {:<24} {:>7} {:>16} {:>16.4}",
            row.label,
            row.memory_mb,
            row.cost_warm.map_or_else(|| "—".to_owned(), |c| format!("{c:.4}")),
            row.cost_cold
        );
    }
}

/// Writes the rows as JSON for the plot.
pub fn write_json(rows: &[Row], path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(rows).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rounds_compute_up_to_the_millisecond_and_adds_the_fixed_part() {
        // 4.10 $ of requests, REST API and SQS per million, whatever the size.
        let fixed = dollars_per_million(128, 0.0);
        assert!((fixed - 4.10).abs() < 1e-9, "{fixed}");
        // 1 GB for 1 s a webhook: 1e6 GB-s.
        let second = dollars_per_million(1024, 1000.0) - fixed;
        assert!((second - 13.3334).abs() < 1e-6, "{second}");
        // 0.2 ms is billed as 1 ms.
        assert_eq!(dollars_per_million(512, 0.2), dollars_per_million(512, 1.0));
    }

    #[test]
    fn cpu_share_follows_memory() {
        assert_eq!(LambdaSize::lambda(1769, false).cpu_quota_us(), 100_000);
        assert_eq!(LambdaSize::lambda(256, false).cpu_quota_us(), 14_471);
        assert_eq!(LambdaSize::lambda(128, false).cpu_quota_us(), 7_235);
        // More than one vCPU is not modelled: one core at most.
        assert_eq!(LambdaSize::lambda(3008, false).cpu_quota_us(), 100_000);
    }
}
