//! Cold start, warm latency and peak memory of the release binaries, each
//! against a floor measured in the same run on this machine (make bench):
//!
//! - cold start: process spawn → first 2xx, through the Runtime API emulator,
//!   against moto on loopback over plain HTTP, and against the SQS stub over
//!   TLS (a certificate from a throw-away CA); floor: the `bare` function. Split into
//!   init (spawn → first poll of the Runtime API) and the first invocation.
//! - warm latency: rounds of one raw `SendMessage` from a warm Rust client and
//!   one invocation of each function, interleaved (so drift in the SQS server
//!   hits all alike); floor: bare's latency + the raw send. Against a minimal
//!   SQS stub (the stable figure) and against moto (~10 ms a send, noisy).
//! - memory: peak RSS (VmHWM) of each process after the warm runs.
//!
//! `FUNCTION_BIN_DIR=target/release bench [COLD_RUNS] [WARM_RUNS]`.
//! `BENCH_EXTRA="artemis-opt-z=/path/to/artemis,artemis-python=tools/dev/python-lambda/bootstrap"`
//! adds processes to compare (the label's prefix picks the event); they run
//! in every section.

use std::path::{Path, PathBuf};

use clap::Parser;
use dev::bench::*;
use dev::sqs_stub::SqsStub;

use harness::function::{function_binary, local_env};
use harness::{sqs, Call, FrontDoor, Moto};

/// Cold start, warm latency, Lambda's sizes and peak memory of the release
/// binaries (FUNCTION_BIN_DIR), each against a floor measured in the same run
/// (make bench). BENCH_EXTRA adds processes to compare; BENCH_SIZES=none
/// skips Lambda's sizes.
#[derive(Parser)]
#[command(name = "bench")]
struct Args {
    /// Cold starts per variant.
    #[arg(default_value_t = 30)]
    cold_runs: usize,
    /// Warm invocations per variant.
    #[arg(default_value_t = 500)]
    warm_runs: usize,
}

/// The criterion medians of the per-request bench, if `cargo bench` ran.
fn criterion_median_us(name: &str) -> Option<f64> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion");
    let dir = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().starts_with(&name.replace(':', "_")))?;
    let text = std::fs::read_to_string(dir.path().join("new/estimates.json")).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64().map(|ns| ns / 1000.0)
}

/// The harness's raw send's warm p50 in the 128 MB run.
fn sized_warm_raw(rows: &[dev::sizes::Row]) -> Option<f64> {
    rows.iter()
        .filter(|r| r.memory_mb == 128)
        .find_map(|r| r.raw_send_p50_ms)
}

/// A count from the environment, else `default`.
fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let Args { cold_runs, warm_runs } = Args::parse();
    let variants = variants();
    // BENCH_LOG_LEVEL=info (with BENCH_LOG=file) shows each init's breakdown.
    let level = std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "error".to_owned());
    let moto = Moto::start();
    let client = sqs::client(&moto.raw_endpoint).await;

    let cold_http = cold_start_http(&moto, &client, &variants, &level, cold_runs).await;
    let (cold_tls, sized_rows) = cold_start_tls_and_sizes(&variants, &level, cold_runs).await;
    let stub = StubSetup::start(&variants, &level).await;
    let (stub_results, stub_ratios) = warm_against_stub(&stub, warm_runs).await;
    let moto_ratios = warm_against_moto(&moto, &client, &variants, &level, warm_runs).await;
    print_peak_memory(&stub_results, warm_runs);
    let (long_run, long_rss) = memory_over_long_run(&stub).await;
    print_summary(&Figures {
        warm_runs,
        cold_http,
        cold_tls,
        sized_rows,
        stub_results,
        stub_ratios,
        moto_ratios,
        long_run,
        long_rss,
    });
}

/// What the summary table is made of.
struct Figures {
    warm_runs: usize,
    cold_http: Vec<(String, f64)>,
    cold_tls: Vec<(String, f64)>,
    sized_rows: Vec<dev::sizes::Row>,
    stub_results: Vec<Warm>,
    stub_ratios: Vec<(String, f64)>,
    moto_ratios: Vec<(String, f64)>,
    long_run: usize,
    long_rss: Vec<(String, f64)>,
}

/// The functions' log level for the benchmark's processes.
fn quiet(level: &str) -> [(&'static str, &str); 1] {
    [("AWS_LAMBDA_LOG_LEVEL", level)]
}

/// Cold start against moto over plain HTTP, with the system roots and with
/// the token read from Secrets Manager as variants.
async fn cold_start_http(
    moto: &Moto,
    client: &aws_sdk_sqs::Client,
    variants: &[Variant],
    level: &str,
    cold_runs: usize,
) -> Vec<(String, f64)> {
    let queue = sqs::create_queue(client, "bench-events", false).await;
    let mut env = local_env(&moto.raw_endpoint, &quiet(level));
    env.push(("QUEUE_URL".to_owned(), queue.clone()));
    let mut http_variants = variants.to_vec();
    // What the SDK's default trust store (the system's roots) costs at init.
    let system_bundle = "/etc/ssl/certs/ca-certificates.crt";
    if Path::new(system_bundle).exists() {
        http_variants.push(
            Variant::new("artemis system roots", function_binary("artemis"))
                .with("SSL_CERT_FILE", system_bundle)
                .with("SSL_CERT_DIR", "/etc/ssl/certs"),
        );
    }
    // What reading the token from Secrets Manager (SHARED_SECRET_ARN) costs at init.
    let secrets = harness::secrets::client(&moto.raw_endpoint).await;
    let token = "bench-token-0123456789abcdef0123456789";
    let arn = harness::secrets::create(&secrets, "bench-webhook-token", token).await;
    let mut with_secret =
        Variant::new("artemis SHARED_SECRET_ARN", function_binary("artemis")).with("SHARED_SECRET_ARN", &arn);
    with_secret.event = Call::post("/hooks/artemis", INSERT)
        .header("x-webhook-token", token)
        .event(FrontDoor::HttpV2)
        .to_string();
    http_variants.push(with_secret);
    let moto_queue = MotoQueue {
        client,
        endpoint: &moto.raw_endpoint,
        queue: &queue,
    };
    cold_section(
        "cold start, spawn → first 2xx, moto over loopback HTTP",
        &http_variants,
        &env,
        cold_runs,
        Some(&moto_queue),
    )
    .await
}

/// Cold start over TLS, against the stub serving HTTPS with a certificate
/// from a throw-away CA (moto over TLS answers `Connection: close`, so a
/// connection opened at init could never be reused there); then Lambda's
/// sizes (memory limit and CPU share) over the same TLS, unless BENCH_SIZES=none.
async fn cold_start_tls_and_sizes(
    variants: &[Variant],
    level: &str,
    cold_runs: usize,
) -> (Vec<(String, f64)>, Vec<dev::sizes::Row>) {
    let dir = std::env::temp_dir().join(format!("webhook-bench-tls-{}", std::process::id()));
    let certs = dev::tls::Certificates::make(&dir);
    let tls_stub = SqsStub::start(&function_binary("sqs-stub"), Some((&certs.cert, &certs.key))).expect("TLS SQS stub");
    let ca_path = certs.ca.to_string_lossy().into_owned();
    let tls_queue = tls_stub.queue_url("bench-events");
    let tls_env = local_env(
        &tls_stub.endpoint,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", level),
            ("SSL_CERT_FILE", &ca_path),
            ("AWS_CA_BUNDLE", &ca_path),
            ("QUEUE_URL", &tls_queue),
        ],
    );
    let mut tls_variants = variants.to_vec();
    tls_variants.insert(2, dev::bench::archive_variant());
    for name in ["artemis", "amlyze"] {
        tls_variants
            .push(Variant::new(&format!("{name} SQS_PREWARM"), function_binary(name)).with("SQS_PREWARM", "true"));
    }
    let cold_tls = cold_section(
        "cold start, spawn → first 2xx, SQS stub over loopback TLS (RSA 2048, keep-alive)",
        &tls_variants,
        &tls_env,
        cold_runs,
        None,
    )
    .await;

    let sized_rows = if std::env::var("BENCH_SIZES").as_deref() == Ok("none") {
        Vec::new()
    } else {
        let (tls_client, tls_firehose) = dev::tls::clients_trusting(&certs.ca, &tls_stub.endpoint).await;
        let mut sized_variants = variants.to_vec();
        sized_variants.insert(
            2,
            Variant::new("artemis SQS_PREWARM", function_binary("artemis")).with("SQS_PREWARM", "true"),
        );
        sized_variants.insert(2, dev::bench::archive_variant());
        let setup = dev::sizes::Setup {
            variants: &sized_variants,
            env: &tls_env,
            raw: RawCalls {
                sqs: &tls_client,
                queue: &tls_queue,
                firehose: Some(&tls_firehose),
            },
            cold_runs: env_number("SIZE_COLD_RUNS", 10),
            warm_rounds: env_number("SIZE_WARM_RUNS", 200),
        };
        let rows = dev::sizes::run(&setup).await;
        let json = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/sizes.json");
        match dev::sizes::write_json(&rows, &json) {
            Ok(()) => println!("\nper-size rows written to {}", json.display()),
            Err(err) => println!("\n!!! could not write {}: {err}", json.display()),
        }
        rows
    };
    drop(tls_stub);
    let _ = std::fs::remove_dir_all(&dir);
    (cold_tls, sized_rows)
}

/// The plain-HTTP SQS stub the warm and memory sections run against (the
/// stable figure), with its queue, environment and variants.
struct StubSetup {
    _stub: SqsStub,
    client: aws_sdk_sqs::Client,
    firehose: aws_sdk_firehose::Client,
    queue: String,
    env: Vec<(String, String)>,
    variants: Vec<Variant>,
}

impl StubSetup {
    async fn start(variants: &[Variant], level: &str) -> StubSetup {
        let stub = SqsStub::start(&function_binary("sqs-stub"), None).expect("SQS stub");
        let client = sqs::client(&stub.endpoint).await;
        let queue = stub.queue_url("bench-events");
        let mut env = local_env(&stub.endpoint, &quiet(level));
        env.push(("QUEUE_URL".to_owned(), queue.clone()));
        let mut variants = variants.to_vec();
        variants.insert(2, dev::bench::archive_variant());
        let firehose = harness::archive::firehose_client(&stub.endpoint).await;
        StubSetup {
            _stub: stub,
            client,
            firehose,
            queue,
            env,
            variants,
        }
    }
}

/// Warm latency against the stub, each function against its floor.
async fn warm_against_stub(stub: &StubSetup, warm_runs: usize) -> (Vec<Warm>, Vec<(String, f64)>) {
    let raw = RawCalls {
        sqs: &stub.client,
        queue: &stub.queue,
        firehose: Some(&stub.firehose),
    };
    let results = warm_section(&stub.variants, &stub.env, &raw, warm_runs, None, WarmRun::UNTHROTTLED).await;
    // Every function, the raw send and the raw pair each send one message a round.
    let senders = stub.variants.iter().filter(|v| !v.is_bare()).count() + 1 + usize::from(raw.firehose.is_some());
    assert_eq!(
        queue_length(&stub.client, &stub.queue).await,
        (senders * (WARM_UP + warm_runs)) as u64,
        "every invocation must have sent one message"
    );
    let ratios = print_warm("warm latency against the SQS stub", warm_runs, &results);
    (results, ratios)
}

/// Warm latency against moto (~10 ms a send, noisy).
async fn warm_against_moto(
    moto: &Moto,
    client: &aws_sdk_sqs::Client,
    variants: &[Variant],
    level: &str,
    rounds: usize,
) -> Vec<(String, f64)> {
    let queue = sqs::create_queue(client, "bench-warm", false).await;
    let mut env = local_env(&moto.raw_endpoint, &quiet(level));
    env.push(("QUEUE_URL".to_owned(), queue.clone()));
    let warm_moto = MotoQueue {
        client,
        endpoint: &moto.raw_endpoint,
        queue: &queue,
    };
    let raw = RawCalls {
        sqs: client,
        queue: &queue,
        firehose: None,
    };
    let results = warm_section(variants, &env, &raw, rounds, Some(&warm_moto), WarmRun::UNTHROTTLED).await;
    print_warm("warm latency against moto", rounds, &results)
}

/// Peak memory of each process after the warm runs against the stub.
fn print_peak_memory(stub_results: &[Warm], warm_runs: usize) {
    println!(
        "\npeak memory (VmHWM) after {} invocations against the stub",
        WARM_UP + warm_runs
    );
    for result in stub_results[1..].iter().filter(|r| r.label != RAW_PAIR) {
        let mb = result.hwm_kb as f64 / 1024.0;
        let goal = if has_goal(&result.label) {
            format!("   (goal ≤ 16 MB: {})", verdict(mb <= 16.0))
        } else {
            String::new()
        };
        println!("  {:<24} {mb:>6.2} MB{goal}", result.label);
    }
}

/// Memory over a long run (LONG_RUN invocations) through one environment.
async fn memory_over_long_run(stub: &StubSetup) -> (usize, Vec<(String, f64)>) {
    let long_run = env_number("LONG_RUN", 10_000);
    let checkpoints = [100.min(long_run), long_run];
    println!("\npeak memory (VmHWM) over {long_run} invocations of one warm process, against the stub");
    let mut long_rss = Vec::new();
    for variant in stub.variants.iter().filter(|v| has_goal(&v.label)) {
        let readings = rss_over_run(variant, &stub.env, &checkpoints).await;
        let line: Vec<String> = readings
            .iter()
            .map(|(n, mb)| format!("after {n}: {mb:.2} MB"))
            .collect();
        let last = readings.last().map_or(0.0, |r| r.1);
        println!(
            "  {:<24} {}   (goal ≤ 12 MB: {})",
            variant.label,
            line.join(", "),
            verdict(last <= 12.0)
        );
        long_rss.push((variant.label.clone(), last));
    }
    (long_run, long_rss)
}

/// The summary, in the shape of BENCHMARKS.md's table.
fn print_summary(figures: &Figures) {
    println!("\n| measure | goal | artemis | amlyze |");
    println!("|---|---|---|---|");
    let cell = |rows: &[(String, f64)], name: &str, f: &dyn Fn(f64) -> String| {
        rows.iter()
            .find(|(label, _)| label == name)
            .map(|(_, v)| f(*v))
            .unwrap_or_else(|| "—".to_owned())
    };
    let criterion = |name: &str| {
        criterion_median_us(name)
            .map(|us| format!("{us:.2} µs"))
            .unwrap_or_else(|| "run cargo bench".to_owned())
    };
    println!(
        "| per-request CPU path (criterion median) | ≤ 20 µs | {} | {} |",
        criterion("artemis: parse"),
        criterion("amlyze binary mode")
    );
    let over = |v: f64| format!("{v:+.2} ms");
    for (title, rows) in [
        ("cold start over bare, HTTP (p50)", &figures.cold_http),
        ("cold start over bare, TLS (p50)", &figures.cold_tls),
    ] {
        println!(
            "| {title} | ≤ +12 ms | {} | {} |",
            cell(rows, "artemis", &over),
            cell(rows, "amlyze", &over)
        );
    }
    let ratio = |v: f64| format!("{v:.3} ×");
    for (title, rows) in [
        ("warm p50 / (bare + raw send), SQS stub", &figures.stub_ratios),
        ("warm p50 / (bare + raw send), moto", &figures.moto_ratios),
    ] {
        println!(
            "| {title} | ≤ 1.10 × | {} | {} |",
            cell(rows, "artemis", &ratio),
            cell(rows, "amlyze", &ratio)
        );
    }
    let rss: Vec<(String, f64)> = figures
        .stub_results
        .iter()
        .map(|r| (r.label.clone(), r.hwm_kb as f64 / 1024.0))
        .collect();
    let mb = |v: f64| format!("{v:.2} MB");
    println!(
        "| peak RSS after {} invocations | ≤ 16 MB | {} | {} |",
        WARM_UP + figures.warm_runs,
        cell(&rss, "artemis", &mb),
        cell(&rss, "amlyze", &mb)
    );
    println!(
        "| peak RSS after {long_run} invocations | ≤ 12 MB | {} | {} |",
        cell(&figures.long_rss, "artemis", &mb),
        cell(&figures.long_rss, "amlyze", &mb),
        long_run = figures.long_run,
    );
    // The goals at the 128 MB share, over TLS.
    let at_128 = |init: dev::sizes::Init, f: &dyn Fn(&dev::sizes::Row, &dev::sizes::Row) -> Option<f64>| {
        let bare = figures
            .sized_rows
            .iter()
            .find(|r| r.memory_mb == 128 && r.init == init && r.label == "bare");
        let cells: Vec<Option<f64>> = ["artemis", "amlyze"]
            .iter()
            .map(|name| {
                let row = figures
                    .sized_rows
                    .iter()
                    .find(|r| r.memory_mb == 128 && r.init == init && r.label == *name)?;
                f(row, bare?)
            })
            .collect();
        cells
    };
    let show = |v: &Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "—".to_owned(), f);
    for (init, name) in [
        (dev::sizes::Init::Throttled, "throttled init"),
        (dev::sizes::Init::FullCpu, "full-vCPU init"),
    ] {
        let over = at_128(init, &|row, bare| Some(row.cold_p50_ms - bare.cold_p50_ms));
        println!(
            "| 128 MB share, TLS, spawn → first 2xx over bare, {name} (p50) | ≤ +10 ms | {} | {} |",
            show(&over[0], &|v| format!("{v:+.2} ms")),
            show(&over[1], &|v| format!("{v:+.2} ms"))
        );
    }
    let raw = sized_warm_raw(&figures.sized_rows);
    let ratio = at_128(dev::sizes::Init::Throttled, &|row, bare| {
        Some(row.warm_p50_ms? / (bare.warm_p50_ms? + raw?))
    });
    println!(
        "| 128 MB share, TLS, warm p50 / (bare + raw send) | ≤ 1.05 × | {} | {} |",
        show(&ratio[0], &|v| format!("{v:.3} ×")),
        show(&ratio[1], &|v| format!("{v:.3} ×"))
    );
}
