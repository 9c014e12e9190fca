//! How long one request holds an execution environment, by how SQS and
//! Firehose answer (`make bench-capacity`): the figure the concurrency
//! arithmetic of docs/capacity.md multiplies by the request rate.
//!
//! Each scenario starts a fresh SQS/Firehose stub with a latency or a
//! throttle, and one `artemis` process (with the archive on, as the template
//! deploys it) at Lambda's 256 MB CPU share and memory; then times its first
//! request (spawn → answer: init and the first calls' handshakes, what a
//! cold environment holds) and a run of warm requests one after another.
//! The time an invocation takes through the Runtime API emulator is the time
//! Lambda counts the environment busy (and bills).

use std::path::Path;
use std::time::{Duration, Instant};

use harness::emulator::RuntimeApi;
use harness::function::{function_binary, local_env, Function, LambdaSize};
use serde_json::{json, Value};

use super::{log_path, percentile, Variant};
use crate::sqs_stub::SqsStub;

/// One way SQS and Firehose may answer.
pub struct Scenario {
    /// Its key in the JSON (`docs/bench/capacity.json`), read by check-template.py.
    pub key: &'static str,
    pub what: &'static str,
    pub stub: &'static [(&'static str, &'static str)],
    pub warm_runs: usize,
    /// The status every request is answered.
    pub status: u16,
}

/// The scenarios, from SQS at a normal in-region latency to SQS not answering.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        key: "normal",
        what: "SQS and Firehose answer in 20 ms",
        stub: &[("STUB_LATENCY_MS", "20")],
        warm_runs: 100,
        status: 202,
    },
    Scenario {
        key: "sqs_100ms",
        what: "SQS and Firehose answer in 100 ms",
        stub: &[("STUB_LATENCY_MS", "100")],
        warm_runs: 40,
        status: 202,
    },
    Scenario {
        key: "sqs_1s",
        what: "SQS and Firehose answer in 1 s",
        stub: &[("STUB_LATENCY_MS", "1000")],
        warm_runs: 8,
        status: 202,
    },
    Scenario {
        key: "archive_throttled",
        what: "Firehose throttles every record (20 ms)",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_THROTTLE", "firehose")],
        warm_runs: 20,
        status: 202,
    },
    Scenario {
        key: "sqs_throttled",
        what: "SQS throttles every send (20 ms): 503, logged",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_THROTTLE", "sqs")],
        warm_runs: 5,
        status: 503,
    },
    Scenario {
        key: "sqs_down",
        what: "SQS does not answer: 503 at the end of both budgets, logged",
        stub: &[("STUB_LATENCY_MS", "60000")],
        warm_runs: 2,
        status: 503,
    },
];

/// What one scenario measured, in seconds an environment is held.
pub struct Held {
    pub key: &'static str,
    pub what: &'static str,
    pub cold: f64,
    pub warm_mean: f64,
    pub warm_p50: f64,
    pub warm_p99: f64,
    pub runs: usize,
}

/// Runs every scenario with the `sqs-stub` binary `stub_binary`.
pub async fn measure(stub_binary: &Path) -> Vec<Held> {
    let mut results = Vec::new();
    for scenario in SCENARIOS {
        results.push(measure_one(stub_binary, scenario).await);
    }
    results
}

async fn measure_one(stub_binary: &Path, scenario: &Scenario) -> Held {
    let stub = SqsStub::start_with(stub_binary, None, scenario.stub).expect("the SQS stub");
    let mut env = local_env(
        &stub.endpoint,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "error"),
            ("ARCHIVE_STREAM", "capacity-archive"),
        ],
    );
    env.push(("QUEUE_URL".to_owned(), stub.queue_url("capacity-events")));
    env.push(("QUARANTINE_QUEUE_URL".to_owned(), stub.queue_url("capacity-quarantine")));
    let event = Variant::new("artemis", function_binary("artemis")).event;
    let api = RuntimeApi::start().await.expect("runtime API");
    let size = LambdaSize::lambda(256, false);

    // Cold: the invocation waits before the process starts.
    let first = {
        let api = api.clone();
        let event = event.clone();
        tokio::spawn(async move { api.invoke(event.as_bytes(), Duration::from_secs(30)).await })
    };
    tokio::task::yield_now().await;
    let started = Instant::now();
    let function = Function::spawn_sized(
        &function_binary("artemis"),
        &api,
        "artemis",
        &env,
        Some(&log_path()),
        size,
    )
    .expect("spawn artemis");
    let outcome = first.await.expect("task");
    let cold = started.elapsed();
    check(scenario, &outcome);

    let mut warm = Vec::with_capacity(scenario.warm_runs);
    for _ in 0..scenario.warm_runs {
        let started = Instant::now();
        let outcome = api.invoke(event.as_bytes(), Duration::from_secs(30)).await;
        warm.push(started.elapsed());
        check(scenario, &outcome);
    }
    drop(function);
    let mean = warm.iter().sum::<Duration>() / warm.len().max(1) as u32;
    Held {
        key: scenario.key,
        what: scenario.what,
        cold: cold.as_secs_f64(),
        warm_mean: mean.as_secs_f64(),
        warm_p50: percentile(&warm, 0.5).as_secs_f64(),
        warm_p99: percentile(&warm, 0.99).as_secs_f64(),
        runs: warm.len(),
    }
}

/// Every request of a scenario gets the status it should.
fn check(scenario: &Scenario, outcome: &harness::emulator::Outcome) {
    let document: Value = outcome
        .as_ref()
        .ok()
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or_default();
    assert_eq!(document["statusCode"], scenario.status, "{}: {document}", scenario.what);
}

/// The table BENCHMARKS.md shows, with requests a second per environment.
pub fn print(results: &[Held]) {
    println!("\n## Environment-seconds per request (artemis, 256 MB share, archive on)\n");
    println!("| SQS and Firehose | cold: first request (ms) | warm mean (ms) | warm p50 | warm p99 | requests a second per environment | runs |");
    println!("|---|---|---|---|---|---|---|");
    for held in results {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            held.what,
            held.cold * 1000.0,
            held.warm_mean * 1000.0,
            held.warm_p50 * 1000.0,
            held.warm_p99 * 1000.0,
            1.0 / held.warm_mean.max(f64::EPSILON),
            held.runs
        );
    }
}

/// The figures as JSON, for docs/bench/capacity.json.
pub fn to_json(results: &[Held], date: &str) -> Value {
    let scenarios: serde_json::Map<String, Value> = results
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                json!({
                    "what": h.what,
                    "cold_s": round(h.cold),
                    "warm_mean_s": round(h.warm_mean),
                    "warm_p50_s": round(h.warm_p50),
                    "warm_p99_s": round(h.warm_p99),
                    "runs": h.runs,
                }),
            )
        })
        .collect();
    json!({
        "measured": date,
        "how": "make bench-capacity: artemis (release), archive on, 256 MB CPU share and memory, against the SQS stub on loopback",
        "scenarios": scenarios,
    })
}

fn round(seconds: f64) -> f64 {
    (seconds * 10_000.0).round() / 10_000.0
}
