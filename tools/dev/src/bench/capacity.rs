//! How long one request holds an execution environment, by how SQS and
//! Firehose answer (`make bench-capacity`): the figure the concurrency
//! arithmetic of docs/capacity.md multiplies by the request rate.
//!
//! Each scenario starts a fresh SQS/Firehose stub with a latency, a
//! throttle or a hang (and, for the fallback row, a second stub as the other
//! region's queues), and one `artemis` process (with the archive on, as the template
//! deploys it) at Lambda's 256 MB CPU share and memory; then times its first
//! request (spawn → answer: init and the first calls' handshakes, what a
//! cold environment holds) and a run of warm requests one after another; in
//! the degraded rows for several of the breaker's cool-offs, so that the
//! requests that probe a sick queue are in the mean.
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
    /// Warm requests go on until this much time has passed (at least
    /// `warm_runs` of them): long enough for the breaker's probes to count.
    pub warm_for: Duration,
    /// The status every request is answered.
    pub status: u16,
    /// Whether SQS or Firehose is failing (check-template.py holds each
    /// route's rate to what the reserved environments carry in these rows).
    pub degraded: bool,
    /// A second stub for the fallback queue (answering in 20 ms).
    pub fallback: bool,
}

const NO_TIME: Duration = Duration::ZERO;
/// How long the degraded rows send: several of the breaker's cool-offs, so
/// their probes are in the mean.
const SICK_SPELL: Duration = Duration::from_secs(20);

/// The scenarios, from SQS at a normal in-region latency to SQS not answering.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        key: "normal",
        what: "SQS and Firehose answer in 20 ms",
        stub: &[("STUB_LATENCY_MS", "20")],
        warm_runs: 100,
        warm_for: NO_TIME,
        status: 202,
        degraded: false,
        fallback: false,
    },
    Scenario {
        key: "sqs_100ms",
        what: "SQS and Firehose answer in 100 ms",
        stub: &[("STUB_LATENCY_MS", "100")],
        warm_runs: 40,
        warm_for: NO_TIME,
        status: 202,
        degraded: false,
        fallback: false,
    },
    Scenario {
        key: "sqs_1s",
        what: "SQS and Firehose answer in 1 s",
        stub: &[("STUB_LATENCY_MS", "1000")],
        warm_runs: 8,
        warm_for: NO_TIME,
        status: 202,
        degraded: false,
        fallback: false,
    },
    Scenario {
        key: "archive_throttled",
        what: "Firehose throttles every record (20 ms)",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_THROTTLE", "firehose")],
        warm_runs: 20,
        warm_for: SICK_SPELL,
        status: 202,
        degraded: true,
        fallback: false,
    },
    Scenario {
        key: "archive_down",
        what: "Firehose does not answer (SQS in 20 ms): 202, records logged",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_HANG", "firehose")],
        warm_runs: 20,
        warm_for: SICK_SPELL,
        status: 202,
        degraded: true,
        fallback: false,
    },
    Scenario {
        key: "sqs_throttled",
        what: "SQS throttles every send (20 ms): 503, logged",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_THROTTLE", "sqs")],
        warm_runs: 20,
        warm_for: SICK_SPELL,
        status: 503,
        degraded: true,
        fallback: false,
    },
    Scenario {
        key: "sqs_down",
        what: "SQS does not answer: 503, logged",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_HANG", "sqs")],
        warm_runs: 20,
        warm_for: SICK_SPELL,
        status: 503,
        degraded: true,
        fallback: false,
    },
    Scenario {
        key: "sqs_down_fallback",
        what: "SQS does not answer, a fallback queue answers in 20 ms: 202 from the fallback",
        stub: &[("STUB_LATENCY_MS", "20"), ("STUB_HANG", "sqs")],
        warm_runs: 20,
        warm_for: SICK_SPELL,
        status: 202,
        degraded: true,
        fallback: true,
    },
];

/// What one scenario measured, in seconds an environment is held.
pub struct Held {
    pub key: &'static str,
    pub what: &'static str,
    pub degraded: bool,
    pub cold: f64,
    pub warm_mean: f64,
    pub warm_p50: f64,
    pub warm_p99: f64,
    pub runs: usize,
    /// The warm requests after the first [`LEARNING`] of a degraded row
    /// (every breaker open by then): mean and median.
    pub steady_mean: f64,
    pub steady_p50: f64,
}

/// The first seconds of a sick spell, in which the environment learns that
/// a queue is sick (the requests that wait out the budgets before its
/// breaker opens); the steady figures leave them out.
const LEARNING: Duration = Duration::from_secs(10);

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
    let other_region = match scenario.fallback {
        true => Some(SqsStub::start_with(stub_binary, None, &[("STUB_LATENCY_MS", "20")]).expect("the fallback stub")),
        false => None,
    };
    if let Some(other) = &other_region {
        env.push(("FALLBACK_QUEUE_URL".to_owned(), other.queue_url("capacity-events")));
        env.push((
            "FALLBACK_QUARANTINE_QUEUE_URL".to_owned(),
            other.queue_url("capacity-quarantine"),
        ));
        env.push(("FALLBACK_REGION".to_owned(), "us-west-2".to_owned()));
    }
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
    let spell = started;
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
    let mut steady = Vec::new();
    let warm_started = Instant::now();
    while warm.len() < scenario.warm_runs || warm_started.elapsed() < scenario.warm_for {
        let learnt = spell.elapsed() >= LEARNING;
        let started = Instant::now();
        let outcome = api.invoke(event.as_bytes(), Duration::from_secs(30)).await;
        warm.push(started.elapsed());
        if learnt {
            steady.push(started.elapsed());
        }
        check(scenario, &outcome);
    }
    let steady = if steady.is_empty() { warm.clone() } else { steady };
    drop(function);
    let mean = warm.iter().sum::<Duration>() / warm.len().max(1) as u32;
    Held {
        key: scenario.key,
        what: scenario.what,
        degraded: scenario.degraded,
        cold: cold.as_secs_f64(),
        warm_mean: mean.as_secs_f64(),
        warm_p50: percentile(&warm, 0.5).as_secs_f64(),
        warm_p99: percentile(&warm, 0.99).as_secs_f64(),
        runs: warm.len(),
        steady_mean: (steady.iter().sum::<Duration>() / steady.len().max(1) as u32).as_secs_f64(),
        steady_p50: percentile(&steady, 0.5).as_secs_f64(),
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
    println!("| SQS and Firehose | cold: first request (ms) | warm mean (ms) | warm p50 | warm p99 | after the first 10 s: mean (ms) | p50 | requests a second per environment (steady) | runs |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for held in results {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            held.what,
            held.cold * 1000.0,
            held.warm_mean * 1000.0,
            held.warm_p50 * 1000.0,
            held.warm_p99 * 1000.0,
            held.steady_mean * 1000.0,
            held.steady_p50 * 1000.0,
            1.0 / held.steady_mean.max(f64::EPSILON),
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
                    "degraded": h.degraded,
                    "steady_mean_s": round(h.steady_mean),
                    "steady_p50_s": round(h.steady_p50),
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
