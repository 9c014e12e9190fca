//! Cold start, warm latency and peak memory of the release binaries, each
//! against a floor measured in the same run on this machine:
//!
//! - cold start: process spawn → first response, through the Runtime API
//!   emulator, against moto on loopback; floor: the `bare` function;
//! - warm latency: one invocation after another; floor: `bare`'s latency plus
//!   a raw SendMessage from a warm Rust client;
//! - memory: peak RSS (VmHWM) after a sustained run.
//!
//! `FUNCTION_BIN_DIR=target/release bench [COLD_RUNS] [WARM_RUNS]` (make bench).

use std::path::Path;
use std::time::{Duration, Instant};

use harness::emulator::{function_binary, local_env, Function, RuntimeApi};
use harness::sqs;
use harness::{Call, Door, Moto};

const INSERT: &str = include_str!("../../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../../events/bodies/amlyze-customer-updated.json");

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn event(name: &str) -> String {
    let call = match name {
        "amlyze" => Call::post("/hooks/amlyze", AMLYZE)
            .header("ce-id", "bench-1")
            .header("ce-source", "bench")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-specversion", "1.0"),
        _ => Call::post("/hooks/artemis", INSERT),
    };
    call.event(Door::HttpV2).to_string()
}

/// Spawn → first response, `runs` times.
async fn cold(name: &str, env: &[(String, String)], runs: usize) -> Vec<Duration> {
    let binary = function_binary(name);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let api = RuntimeApi::start().await.expect("runtime API");
        let event = event(name);
        // The invocation waits before the process starts, so /next answers at once.
        let pending = {
            let api = api.clone();
            tokio::spawn(async move { api.invoke(event.as_bytes(), Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        let started = Instant::now();
        let function = Function::spawn(&binary, &api, name, env, Some(Path::new("/dev/null"))).expect("spawn");
        let outcome = pending.await.expect("task");
        samples.push(started.elapsed());
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
        drop(function);
    }
    samples
}

/// Latency of `runs` invocations in a row on one warm process, sending to
/// its own fresh queue (moto's cost per send grows with the queue's length,
/// so every phase starts from an empty queue); and its peak RSS.
async fn warm(name: &str, env: &[(String, String)], queue: &str, runs: usize) -> (Vec<Duration>, u64) {
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut env = env.to_vec();
    env.push(("QUEUE_URL".to_owned(), queue.to_owned()));
    let quiet = Some(Path::new("/dev/null"));
    let function = Function::spawn(&function_binary(name), &api, name, &env, quiet).expect("spawn");
    let event = event(name);
    for _ in 0..20 {
        api.invoke(event.as_bytes(), Duration::from_secs(30))
            .await
            .expect("warm-up");
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        api.invoke(event.as_bytes(), Duration::from_secs(30))
            .await
            .expect("invoke");
        samples.push(started.elapsed());
    }
    let pid = function.child.id().unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    (samples, hwm_kb)
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let cold_runs = args.first().copied().unwrap_or(30);
    let warm_runs = args.get(1).copied().unwrap_or(500);
    let moto = Moto::start();
    let client = sqs::client(&moto.endpoint).await;
    let queue = sqs::create_queue(&client, "bench-events", false).await;
    let quarantine = sqs::create_queue(&client, "bench-quarantine", false).await;
    let env = local_env(
        &moto.endpoint,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "error"),
            ("QUEUE_URL", queue.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
        ],
    );

    println!("cold start: process spawn → first response ({cold_runs} runs each; moto over loopback HTTP)");
    let bare_cold = cold("bare", &env, cold_runs).await;
    let bare_p50 = percentile(&bare_cold, 0.5);
    println!(
        "  {:<8} p50 {:>7.2} ms   p90 {:>7.2} ms",
        "bare",
        ms(bare_p50),
        ms(percentile(&bare_cold, 0.9))
    );
    for name in ["artemis", "amlyze"] {
        let samples = cold(name, &env, cold_runs).await;
        let p50 = percentile(&samples, 0.5);
        let extra = ms(p50) - ms(bare_p50);
        println!(
            "  {name:<8} p50 {:>7.2} ms   p90 {:>7.2} ms   over bare: {extra:+.2} ms (goal ≤ +12 ms: {})",
            ms(p50),
            ms(percentile(&samples, 0.9)),
            if extra <= 12.0 { "met" } else { "NOT met" }
        );
    }

    println!("warm latency: {warm_runs} invocations in a row on one process");
    let mut raw = Vec::with_capacity(warm_runs);
    let body = INSERT.repeat(2);
    let raw_queue = sqs::create_queue(&client, "bench-raw", false).await;
    for i in 0..warm_runs + 20 {
        let started = Instant::now();
        client
            .send_message()
            .queue_url(&raw_queue)
            .message_body(&body)
            .send()
            .await
            .expect("send");
        if i >= 20 {
            raw.push(started.elapsed());
        }
    }
    let (bare_warm, bare_rss) = warm("bare", &env, &queue, warm_runs).await;
    let floor = percentile(&bare_warm, 0.5) + percentile(&raw, 0.5);
    println!(
        "  {:<24} p50 {:>6.3} ms   p99 {:>6.3} ms",
        "raw SendMessage (Rust)",
        ms(percentile(&raw, 0.5)),
        ms(percentile(&raw, 0.99))
    );
    println!(
        "  {:<24} p50 {:>6.3} ms   p99 {:>6.3} ms",
        "bare function",
        ms(percentile(&bare_warm, 0.5)),
        ms(percentile(&bare_warm, 0.99))
    );
    println!("  {:<24} p50 {:>6.3} ms", "floor (bare + raw send)", ms(floor));
    let mut rss = vec![("bare", bare_rss)];
    for name in ["artemis", "amlyze"] {
        let own_queue = sqs::create_queue(&client, &format!("bench-{name}"), false).await;
        let (samples, hwm) = warm(name, &env, &own_queue, warm_runs).await;
        let p50 = percentile(&samples, 0.5);
        let ratio = p50.as_secs_f64() / floor.as_secs_f64();
        println!(
            "  {name:<24} p50 {:>6.3} ms   p99 {:>6.3} ms   p50 / floor = {ratio:.3} (goal ≤ 1.10: {})",
            ms(p50),
            ms(percentile(&samples, 0.99)),
            if ratio <= 1.10 { "met" } else { "NOT met" }
        );
        rss.push((name, hwm));
    }
    println!("peak memory (VmHWM) after {} invocations", warm_runs + 20);
    for (name, kb) in rss {
        let mb = kb as f64 / 1024.0;
        let goal = if name == "bare" {
            String::new()
        } else {
            format!("   (goal ≤ 16 MB: {})", if mb <= 16.0 { "met" } else { "NOT met" })
        };
        println!("  {name:<8} {mb:>6.2} MB{goal}");
    }
}
