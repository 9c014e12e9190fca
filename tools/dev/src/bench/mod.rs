//! The benchmark of the built binaries (`make bench`; the `bench` binary
//! prints its tables): cold start against moto and over TLS against the SQS
//! stub, warm latency and peak memory, each against a floor measured in the
//! same run.
//!
//! - cold start: process spawn → first 2xx, through the Runtime API emulator,
//!   against moto on loopback over plain HTTP, and against the SQS stub over
//!   TLS (a certificate from a throw-away CA); floor: the `bare` function. Split into
//!   init (spawn → first poll of the Runtime API) and the first invocation.
//! - warm latency: rounds of one raw `SendMessage` from a warm Rust client and
//!   one invocation of each function, interleaved (so drift in the SQS server
//!   hits all alike); floor: bare's latency + the raw send (for the archive's
//!   row, + the raw send beside a raw `PutRecordBatch`). Against a minimal
//!   SQS stub (the stable figure) and against moto (~10 ms a send, noisy).
//! - memory: peak RSS (VmHWM) of each process after the warm runs.
//!
//! `FUNCTION_BIN_DIR=target/release bench [COLD_RUNS] [WARM_RUNS]`.
//! `BENCH_EXTRA="artemis-opt-z=/path/to/artemis,artemis-python=tools/dev/python-lambda/bootstrap"`
//! adds processes to compare (the label's prefix picks the event); they run
//! in every section.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::emulator::RuntimeApi;
use harness::function::{function_binary, Function, LambdaSize};
use harness::{sqs, Call, FrontDoor};

pub mod capacity;
mod warm;
pub use warm::*;

pub const INSERT: &str = include_str!("../../../../events/bodies/artemis-insert.json");
pub const AMLYZE: &str = include_str!("../../../../events/bodies/amlyze-customer-updated.json");
pub const WARM_UP: usize = 20;

/// One process to measure: a label, what to run, its event, extra settings.
#[derive(Clone)]
pub struct Variant {
    pub label: String,
    pub program: PathBuf,
    pub event: String,
    pub env: Vec<(String, String)>,
}

impl Variant {
    pub fn new(label: &str, program: PathBuf) -> Variant {
        let call = if label.starts_with("amlyze") {
            Call::post("/hooks/amlyze", AMLYZE)
                .header("ce-id", "bench-1")
                .header("ce-source", "bench")
                .header("ce-type", "com.amlyze.customer.updated")
                .header("ce-specversion", "1.0")
        } else {
            Call::post("/hooks/artemis", INSERT)
        };
        Variant {
            label: label.to_owned(),
            program,
            event: call.event(FrontDoor::HttpV2).to_string(),
            env: Vec::new(),
        }
    }

    pub fn with(mut self, var: &str, value: &str) -> Variant {
        self.env.push((var.to_owned(), value.to_owned()));
        self
    }

    pub fn is_bare(&self) -> bool {
        self.label == "bare"
    }
}

/// Whether a goal applies to this process (the product's two functions; the
/// other rows are context).
pub fn has_goal(label: &str) -> bool {
    label == "artemis" || label == "amlyze" || label == ARCHIVE_VARIANT
}

/// The archive's row: artemis with `ARCHIVE_STREAM`, against an endpoint that
/// also answers Firehose (the SQS stub).
pub const ARCHIVE_VARIANT: &str = "artemis +archive";

pub fn archive_variant() -> Variant {
    Variant::new(ARCHIVE_VARIANT, function_binary("artemis")).with("ARCHIVE_STREAM", "bench-archive")
}

/// bare, artemis, amlyze, then the BENCH_EXTRA processes.
pub fn variants() -> Vec<Variant> {
    // "bare": the floor, a lambda_http function that answers 200 and does nothing else.
    let mut list: Vec<Variant> = [
        ("bare", "bare-lambda-http"),
        ("artemis", "artemis"),
        ("amlyze", "amlyze"),
    ]
    .into_iter()
    .map(|(label, binary)| Variant::new(label, function_binary(binary)))
    .collect();
    for spec in std::env::var("BENCH_EXTRA").unwrap_or_default().split(',') {
        if let Some((label, path)) = spec.trim().split_once('=') {
            let mut variant = Variant::new(label.trim(), PathBuf::from(path.trim()));
            // The Python function's interpreter (make bench-python).
            if let Ok(python) = std::env::var("BENCH_PYTHON") {
                variant = variant.with("BENCH_PYTHON", &python);
            }
            list.push(variant);
        }
    }
    list
}

/// Where the processes write their output: BENCH_LOG, else nowhere.
pub fn log_path() -> PathBuf {
    std::env::var("BENCH_LOG").map_or_else(|_| PathBuf::from("/dev/null"), PathBuf::from)
}

pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// Panics unless the function answered with a 2xx: a fast 5xx must never
/// pass for a fast start.
pub fn assert_2xx(label: &str, outcome: &harness::emulator::Outcome) {
    let document: serde_json::Value = match outcome {
        Ok(bytes) => serde_json::from_slice(bytes).unwrap_or_default(),
        Err(err) => panic!("{label}: {err}"),
    };
    let status = document["statusCode"].as_u64().unwrap_or_default();
    assert!((200..300).contains(&status), "{label} answered {document}");
}

pub struct Cold {
    pub total: Duration,
    pub init: Duration,
}

/// The medians (and p90 of the total) of one process's cold starts, in ms.
#[derive(Clone, Copy)]
pub struct ColdStats {
    pub init_p50: f64,
    pub call_p50: f64,
    pub p50: f64,
    pub p90: f64,
}

impl ColdStats {
    pub fn of(samples: &[Cold]) -> ColdStats {
        let totals: Vec<Duration> = samples.iter().map(|c| c.total).collect();
        let inits: Vec<Duration> = samples.iter().map(|c| c.init).collect();
        let calls: Vec<Duration> = samples.iter().map(|c| c.total.saturating_sub(c.init)).collect();
        ColdStats {
            init_p50: ms(percentile(&inits, 0.5)),
            call_p50: ms(percentile(&calls, 0.5)),
            p50: ms(percentile(&totals, 0.5)),
            p90: ms(percentile(&totals, 0.9)),
        }
    }
}

/// Spawn → first response of one fresh process at `size`. The invocation is
/// queued before the process starts, so its first poll is answered at once.
pub async fn cold_once(variant: &Variant, env: &[(String, String)], size: LambdaSize) -> Cold {
    let api = RuntimeApi::start().await.expect("runtime API");
    let pending = {
        let api = api.clone();
        let event = variant.event.clone();
        tokio::spawn(async move { api.invoke(event.as_bytes(), Duration::from_secs(30)).await })
    };
    tokio::task::yield_now().await;
    let mut env = env.to_vec();
    env.extend(variant.env.iter().cloned());
    let started = Instant::now();
    let function =
        Function::spawn_sized(&variant.program, &api, &variant.label, &env, Some(&log_path()), size).expect("spawn");
    let outcome = pending.await.expect("task");
    let total = started.elapsed();
    assert_2xx(&variant.label, &outcome);
    let init = api.first_poll().map(|t| t - started).unwrap_or_default();
    drop(function);
    Cold { total, init }
}

/// `runs` cold starts of every variant, interleaved; prints one row each.
/// The SQS server of a section, when it is moto: the harness's client and
/// the functions' queue. moto's cost per send grows with the queue's length
/// (BENCHMARKS.md), so the queue is
/// purged between rounds (untimed), and a first send from a new Rust client
/// is timed beside the functions.
pub struct MotoQueue<'a> {
    pub client: &'a aws_sdk_sqs::Client,
    pub endpoint: &'a str,
    pub queue: &'a str,
}

impl MotoQueue<'_> {
    async fn purge(&self) {
        let _ = self.client.purge_queue().queue_url(self.queue).send().await;
    }

    /// The first SendMessage of a new client (its building excluded, as the
    /// functions build theirs during init).
    async fn first_send(&self) -> Duration {
        let client = sqs::client(self.endpoint).await;
        let started = Instant::now();
        client
            .send_message()
            .queue_url(self.queue)
            .message_body(INSERT)
            .send()
            .await
            .expect("raw send");
        started.elapsed()
    }
}

pub async fn cold_section(
    title: &str,
    variants: &[Variant],
    env: &[(String, String)],
    runs: usize,
    moto: Option<&MotoQueue<'_>>,
) -> Vec<(String, f64)> {
    let mut samples: Vec<Vec<Cold>> = variants.iter().map(|_| Vec::with_capacity(runs)).collect();
    let mut raw = Vec::with_capacity(runs);
    for _ in 0..runs {
        if let Some(moto) = moto {
            moto.purge().await;
            raw.push(moto.first_send().await);
        }
        for (variant, samples) in variants.iter().zip(samples.iter_mut()) {
            samples.push(cold_once(variant, env, LambdaSize::TESTS).await);
        }
    }
    println!("\n{title} ({runs} runs each, interleaved)");
    println!(
        "  {:<22} {:>9} {:>9} {:>10} {:>13} {:>10}",
        "process", "p50 ms", "p90 ms", "init p50", "1st call p50", "over bare"
    );
    if !raw.is_empty() {
        println!(
            "  {:<22} {:>9.2} {:>9.2} {:>10} {:>13.2}   (a new Rust client's first send, in a warm process)",
            "raw SendMessage",
            ms(percentile(&raw, 0.5)),
            ms(percentile(&raw, 0.9)),
            "",
            ms(percentile(&raw, 0.5)),
        );
    }
    let bare = ColdStats::of(&samples[0]).p50;
    let mut rows = Vec::new();
    for (variant, samples) in variants.iter().zip(&samples) {
        let stats = ColdStats::of(samples);
        let over = stats.p50 - bare;
        let goal = match (variant.is_bare(), has_goal(&variant.label)) {
            (true, _) => String::new(),
            (false, true) => format!("{over:+9.2}   (goal ≤ +12 ms: {})", verdict(over <= 12.0)),
            (false, false) => format!("{over:+9.2}"),
        };
        println!(
            "  {:<22} {:>9.2} {:>9.2} {:>10.2} {:>13.2} {goal}",
            variant.label, stats.p50, stats.p90, stats.init_p50, stats.call_p50,
        );
        rows.push((variant.label.clone(), over));
    }
    rows
}

/// `ApproximateNumberOfMessages` of a queue.
pub async fn queue_length(client: &aws_sdk_sqs::Client, queue: &str) -> u64 {
    let output = client
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("GetQueueAttributes");
    output
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .cloned()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}
