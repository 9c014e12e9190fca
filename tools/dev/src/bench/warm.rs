//! The warm sections of the benchmark: latency against a floor measured in
//! the same rounds, and peak memory over a run.

use super::*;

/// What a warm section measured for one process.
pub struct Warm {
    pub label: String,
    pub p50: Duration,
    pub p99: Duration,
    pub hwm_kb: u64,
}

pub fn vm_hwm_kb(function: &Function) -> u64 {
    let pid = function.child.id().unwrap_or_default();
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

/// How the processes of a warm section run: their size, and the pause
/// between rounds (a throttled process invoked back to back would spend its
/// CPU quota, as no single webhook sender makes it).
#[derive(Clone, Copy)]
pub struct WarmRun {
    pub size: LambdaSize,
    pub pause: Duration,
}

impl WarmRun {
    pub const UNTHROTTLED: WarmRun = WarmRun {
        size: LambdaSize::TESTS,
        pause: Duration::ZERO,
    };
}

/// The floor's raw calls, from warm SDK clients: one `SendMessage`, and, when
/// `firehose` is given, that send beside one `PutRecordBatch` of the same
/// body (the least a function that archives must do: two signed HTTPS calls).
pub struct RawCalls<'a> {
    pub sqs: &'a aws_sdk_sqs::Client,
    pub queue: &'a str,
    pub firehose: Option<&'a aws_sdk_firehose::Client>,
}

/// The label of the raw pair's row, and the floor of the archive's row.
pub const RAW_PAIR: &str = "raw send + PutRecordBatch";

impl RawCalls<'_> {
    async fn send(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(self.queue)
            .message_body(body)
            .send()
            .await
            .expect("raw send");
    }

    async fn send_and_archive(&self, firehose: &aws_sdk_firehose::Client, body: &str) {
        use aws_sdk_firehose::{primitives::Blob, types::Record};
        let record = Record::builder()
            .data(Blob::new(body))
            .build()
            .expect("a record with data");
        let archive = firehose
            .put_record_batch()
            .delivery_stream_name("bench-archive")
            .records(record)
            .send();
        let (_, archived) = tokio::join!(self.send(body), archive);
        archived.expect("raw PutRecordBatch");
    }
}

/// Rounds of the raw calls and one invocation of each process, in an order
/// that rotates every round. Returns the raw send's figures first, then each
/// process's, then the raw pair's when `raw.firehose` is given.
pub async fn warm_section(
    variants: &[Variant],
    env: &[(String, String)],
    raw: &RawCalls<'_>,
    rounds: usize,
    moto: Option<&MotoQueue<'_>>,
    run: WarmRun,
) -> Vec<Warm> {
    let mut running = Vec::new();
    for variant in variants {
        let api = RuntimeApi::start().await.expect("runtime API");
        let mut env = env.to_vec();
        env.extend(variant.env.iter().cloned());
        let function = Function::spawn_sized(
            &variant.program,
            &api,
            &variant.label,
            &env,
            Some(&log_path()),
            run.size,
        )
        .expect("spawn");
        running.push((variant, api, function));
    }
    let body = INSERT.repeat(2);
    let pair = running.len() + 1;
    let slots = pair + usize::from(raw.firehose.is_some());
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); slots];
    for round in 0..WARM_UP + rounds {
        if let Some(moto) = moto {
            moto.purge().await;
        }
        for k in 0..slots {
            let slot = (k + round) % slots;
            let started = Instant::now();
            if slot == 0 {
                raw.send(&body).await;
            } else if let (true, Some(firehose)) = (slot == pair, raw.firehose) {
                raw.send_and_archive(firehose, &body).await;
            } else {
                let (variant, api, _) = &running[slot - 1];
                let outcome = api.invoke(variant.event.as_bytes(), Duration::from_secs(30)).await;
                assert_2xx(&variant.label, &outcome);
            }
            if round >= WARM_UP {
                samples[slot].push(started.elapsed());
            }
            if !run.pause.is_zero() {
                tokio::time::sleep(run.pause).await;
            }
        }
    }
    let mut results = vec![Warm {
        label: "raw SendMessage (Rust)".to_owned(),
        p50: percentile(&samples[0], 0.5),
        p99: percentile(&samples[0], 0.99),
        hwm_kb: 0,
    }];
    for ((variant, _, function), samples) in running.iter().zip(&samples[1..]) {
        results.push(Warm {
            label: variant.label.clone(),
            p50: percentile(samples, 0.5),
            p99: percentile(samples, 0.99),
            hwm_kb: vm_hwm_kb(function),
        });
    }
    if let Some(samples) = samples.get(pair) {
        results.push(Warm {
            label: RAW_PAIR.to_owned(),
            p50: percentile(samples, 0.5),
            p99: percentile(samples, 0.99),
            hwm_kb: 0,
        });
    }
    results
}

/// The floor of a row: bare's p50 plus the raw calls that row's function must
/// make (the pair for the archive's row when it was measured, else one send).
pub fn floor_of(label: &str, results: &[Warm]) -> Duration {
    let bare = results[1].p50;
    let pair = results.iter().find(|r| r.label == RAW_PAIR);
    match pair {
        Some(pair) if label == ARCHIVE_VARIANT => bare + pair.p50,
        _ => bare + results[0].p50,
    }
}

/// Prints a warm section; returns each function's p50 / floor.
pub fn print_warm(title: &str, rounds: usize, results: &[Warm]) -> Vec<(String, f64)> {
    println!("\n{title}: {rounds} rounds after {WARM_UP} to warm up, interleaved");
    let floor = floor_of("", results);
    let mut ratios = Vec::new();
    for result in results {
        let ratio = result.p50.as_secs_f64() / floor_of(&result.label, results).as_secs_f64();
        let goal = if result.label.starts_with("raw") || result.label == "bare" {
            String::new()
        } else if has_goal(&result.label) {
            ratios.push((result.label.clone(), ratio));
            format!("   p50 / floor = {ratio:.3} (goal ≤ 1.10: {})", verdict(ratio <= 1.10))
        } else {
            format!("   p50 / floor = {ratio:.3}")
        };
        println!(
            "  {:<24} p50 {:>7.3} ms   p99 {:>7.3} ms{goal}",
            result.label,
            ms(result.p50),
            ms(result.p99)
        );
    }
    println!("  {:<24} p50 {:>7.3} ms", "floor (bare + raw send)", ms(floor));
    if results.iter().any(|r| r.label == RAW_PAIR) {
        let pair = floor_of(ARCHIVE_VARIANT, results);
        println!(
            "  {:<24} p50 {:>7.3} ms   (the floor of {ARCHIVE_VARIANT})",
            "floor (bare + raw pair)",
            ms(pair)
        );
    }
    ratios
}

/// Peak RSS (VmHWM, MB) of one process kept warm through `checkpoints.last()`
/// invocations, read at each checkpoint: a leak shows as growth after the
/// first. At the template's size, CPU unthrottled (it changes no byte).
pub async fn rss_over_run(variant: &Variant, env: &[(String, String)], checkpoints: &[usize]) -> Vec<(usize, f64)> {
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut env = env.to_vec();
    env.extend(variant.env.iter().cloned());
    let function = Function::spawn(&variant.program, &api, &variant.label, &env, Some(&log_path())).expect("spawn");
    let mut readings = Vec::new();
    let mut done = 0;
    for &checkpoint in checkpoints {
        while done < checkpoint {
            let outcome = api.invoke(variant.event.as_bytes(), Duration::from_secs(30)).await;
            assert_2xx(&variant.label, &outcome);
            done += 1;
        }
        readings.push((done, vm_hwm_kb(&function) as f64 / 1024.0));
    }
    readings
}
