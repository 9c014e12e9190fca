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

use dev::bench::*;
use dev::sqs_stub::SqsStub;
use harness::emulator::{function_binary, local_env};
use harness::{sqs, Call, FrontDoor, Moto};

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
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let cold_runs = args.first().copied().unwrap_or(30);
    let warm_runs = args.get(1).copied().unwrap_or(500);
    let variants = variants();
    // BENCH_LOG_LEVEL=info (with BENCH_LOG=file) shows each init's breakdown.
    let level = std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "error".to_owned());
    let quiet = [("AWS_LAMBDA_LOG_LEVEL", level.as_str())];

    // Cold start against moto over plain HTTP (the goal as the issue states it).
    let moto = Moto::start();
    let client = sqs::client(&moto.raw_endpoint).await;
    let queue = sqs::create_queue(&client, "bench-events", false).await;
    let mut env = local_env(&moto.raw_endpoint, &quiet);
    env.push(("QUEUE_URL".to_owned(), queue.clone()));
    let mut http_variants = variants.clone();
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
        client: &client,
        endpoint: &moto.raw_endpoint,
        queue: &queue,
    };
    let cold_http = cold_section(
        "cold start, spawn → first 2xx, moto over loopback HTTP",
        &http_variants,
        &env,
        cold_runs,
        Some(&moto_queue),
    )
    .await;

    // Cold start over TLS, against the stub serving HTTPS with a certificate
    // from a throw-away CA (moto over TLS answers `Connection: close`, so a
    // connection opened at init could never be reused there).
    let dir = std::env::temp_dir().join(format!("webhook-bench-tls-{}", std::process::id()));
    let certs = dev::tls::Certificates::make(&dir);
    let tls_stub = SqsStub::start(&function_binary("sqs-stub"), Some((&certs.cert, &certs.key))).expect("TLS SQS stub");
    let ca_path = certs.ca.to_string_lossy().into_owned();
    let tls_queue = tls_stub.queue_url("bench-events");
    let tls_env = local_env(
        &tls_stub.endpoint,
        &[
            ("AWS_LAMBDA_LOG_LEVEL", level.as_str()),
            ("SSL_CERT_FILE", &ca_path),
            ("AWS_CA_BUNDLE", &ca_path),
            ("QUEUE_URL", &tls_queue),
        ],
    );
    let mut tls_variants = variants.clone();
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

    // Lambda's sizes: memory limit and CPU share, over TLS (BENCH_SIZES).
    let sized_rows = if std::env::var("BENCH_SIZES").as_deref() == Ok("none") {
        Vec::new()
    } else {
        let (tls_client, tls_firehose) = dev::tls::clients_trusting(&certs.ca, &tls_stub.endpoint).await;
        let mut sized_variants = variants.clone();
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

    // Warm latency against the stub (stable), then against moto (noisy).
    let stub = SqsStub::start(&function_binary("sqs-stub"), None).expect("SQS stub");
    let stub_client = sqs::client(&stub.endpoint).await;
    let stub_queue = stub.queue_url("bench-events");
    let mut stub_env = local_env(&stub.endpoint, &quiet);
    stub_env.push(("QUEUE_URL".to_owned(), stub_queue.clone()));
    let mut stub_variants = variants.clone();
    stub_variants.insert(2, dev::bench::archive_variant());
    let stub_firehose = harness::archive::firehose_client(&stub.endpoint).await;
    let stub_raw = RawCalls {
        sqs: &stub_client,
        queue: &stub_queue,
        firehose: Some(&stub_firehose),
    };
    let stub_results = warm_section(
        &stub_variants,
        &stub_env,
        &stub_raw,
        warm_runs,
        None,
        WarmRun::UNTHROTTLED,
    )
    .await;
    // Every function, the raw send and the raw pair each send one message a round.
    let senders = stub_variants.iter().filter(|v| !v.is_bare()).count() + 1 + usize::from(stub_raw.firehose.is_some());
    assert_eq!(
        queue_length(&stub_client, &stub_queue).await,
        (senders * (WARM_UP + warm_runs)) as u64,
        "every invocation must have sent one message"
    );
    let stub_ratios = print_warm("warm latency against the SQS stub", warm_runs, &stub_results);

    let moto_rounds = warm_runs;
    let moto_queue_url = sqs::create_queue(&client, "bench-warm", false).await;
    let mut moto_env = local_env(&moto.raw_endpoint, &quiet);
    moto_env.push(("QUEUE_URL".to_owned(), moto_queue_url.clone()));
    let warm_moto = MotoQueue {
        client: &client,
        endpoint: &moto.raw_endpoint,
        queue: &moto_queue_url,
    };
    let moto_raw = RawCalls {
        sqs: &client,
        queue: &moto_queue_url,
        firehose: None,
    };
    let moto_results = warm_section(
        &variants,
        &moto_env,
        &moto_raw,
        moto_rounds,
        Some(&warm_moto),
        WarmRun::UNTHROTTLED,
    )
    .await;
    let moto_ratios = print_warm("warm latency against moto", moto_rounds, &moto_results);

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

    // Memory over a long run through one environment.
    let long_run = env_number("LONG_RUN", 10_000);
    let checkpoints = [100.min(long_run), long_run];
    println!("\npeak memory (VmHWM) over {long_run} invocations of one warm process, against the stub");
    let mut long_rss = Vec::new();
    for variant in stub_variants.iter().filter(|v| has_goal(&v.label)) {
        let readings = rss_over_run(variant, &stub_env, &checkpoints).await;
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

    // The summary, in the shape of BENCHMARKS.md's table.
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
        ("cold start over bare, HTTP (p50)", &cold_http),
        ("cold start over bare, TLS (p50)", &cold_tls),
    ] {
        println!(
            "| {title} | ≤ +12 ms | {} | {} |",
            cell(rows, "artemis", &over),
            cell(rows, "amlyze", &over)
        );
    }
    let ratio = |v: f64| format!("{v:.3} ×");
    for (title, rows) in [
        ("warm p50 / (bare + raw send), SQS stub", &stub_ratios),
        ("warm p50 / (bare + raw send), moto", &moto_ratios),
    ] {
        println!(
            "| {title} | ≤ 1.10 × | {} | {} |",
            cell(rows, "artemis", &ratio),
            cell(rows, "amlyze", &ratio)
        );
    }
    let rss: Vec<(String, f64)> = stub_results
        .iter()
        .map(|r| (r.label.clone(), r.hwm_kb as f64 / 1024.0))
        .collect();
    let mb = |v: f64| format!("{v:.2} MB");
    println!(
        "| peak RSS after {} invocations | ≤ 16 MB | {} | {} |",
        WARM_UP + warm_runs,
        cell(&rss, "artemis", &mb),
        cell(&rss, "amlyze", &mb)
    );
    println!(
        "| peak RSS after {long_run} invocations | ≤ 12 MB | {} | {} |",
        cell(&long_rss, "artemis", &mb),
        cell(&long_rss, "amlyze", &mb)
    );
    // The goals at the 128 MB share, over TLS.
    let at_128 = |init: dev::sizes::Init, f: &dyn Fn(&dev::sizes::Row, &dev::sizes::Row) -> Option<f64>| {
        let bare = sized_rows
            .iter()
            .find(|r| r.memory_mb == 128 && r.init == init && r.label == "bare");
        let cells: Vec<Option<f64>> = ["artemis", "amlyze"]
            .iter()
            .map(|name| {
                let row = sized_rows
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
    let raw = sized_warm_raw(&sized_rows);
    let ratio = at_128(dev::sizes::Init::Throttled, &|row, bare| {
        Some(row.warm_p50_ms? / (bare.warm_p50_ms? + raw?))
    });
    println!(
        "| 128 MB share, TLS, warm p50 / (bare + raw send) | ≤ 1.05 × | {} | {} |",
        show(&ratio[0], &|v| format!("{v:.3} ×")),
        show(&ratio[1], &|v| format!("{v:.3} ×"))
    );
}
