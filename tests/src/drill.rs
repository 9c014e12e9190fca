//! Two local regions and a front door between them, for the drills of a sick
//! and of a dead region: each region is its own moto server behind a
//! [`FaultProxy`] (so its SQS can be made to hang), with the built webhook
//! functions under its own Runtime API emulator, their fallback queues in the
//! other region. The [`Router`] routes callbacks the way Route 53's failover
//! routing does: health checks of each region's functions every
//! [`HealthChecks::interval`], a region unhealthy after
//! [`HealthChecks::threshold`] failed checks in a row (and healthy again after
//! as many good ones), callbacks to the primary while it is healthy, else to
//! the secondary. A [`Timeline`] keeps what happened when.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::config::{Credentials, Region as SdkRegion};
use serde_json::Value;
use tokio::sync::watch;

use crate::emulator::RuntimeApi;
use crate::faults::{Fault, FaultProxy};
use crate::function::{function_binary, json_log_env, Function};
use crate::{Call, FrontDoor, Moto};

/// moto's account.
pub const ACCOUNT: &str = "123456789012";
/// The webhook functions every region runs.
pub const VENDORS: [&str; 2] = ["artemis", "amlyze"];
/// How long a front door waits for a function (API Gateway's REST limit).
pub const GATEWAY_WAIT: Duration = Duration::from_secs(29);

/// What happened when, from the drill's start.
pub struct Timeline {
    pub start: Instant,
    entries: Mutex<Vec<(Instant, String)>>,
}

impl Timeline {
    pub fn new() -> Arc<Timeline> {
        Arc::new(Timeline {
            start: Instant::now(),
            entries: Mutex::new(Vec::new()),
        })
    }

    /// Notes `what` now.
    pub fn mark(&self, what: impl Into<String>) -> Instant {
        let now = Instant::now();
        self.mark_at(now, what);
        now
    }

    /// Notes `what` at `at`.
    pub fn mark_at(&self, at: Instant, what: impl Into<String>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push((at, what.into()));
        }
    }

    /// Milliseconds from the start to `at`.
    pub fn ms(&self, at: Instant) -> u128 {
        at.saturating_duration_since(self.start).as_millis()
    }

    /// Every entry, in time order, as `t=…ms: what` lines.
    pub fn lines(&self) -> Vec<String> {
        let mut entries = self.entries.lock().map(|e| e.clone()).unwrap_or_default();
        entries.sort_by_key(|(at, _)| *at);
        entries
            .iter()
            .map(|(at, what)| format!("t={:>6}ms: {what}", self.ms(*at)))
            .collect()
    }
}

/// An SQS client for the harness (creating and reading queues) on
/// `endpoint`, signed for `region`: moto keeps each region's queues apart.
pub async fn sqs_client(endpoint: &str, region: &str) -> aws_sdk_sqs::Client {
    let patient = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(180))
        .build();
    let config = platform::aws::sdk_defaults()
        .timeout_config(patient)
        .endpoint_url(endpoint)
        .region(SdkRegion::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

/// Creates queue `name` (FIFO when it ends in `.fifo`) with `client`; its
/// URL with `endpoint` as host, as another region's function must be given
/// it (the fallback client sends to the URL's host).
pub async fn create_queue(client: &aws_sdk_sqs::Client, endpoint: &str, name: &str) -> String {
    let mut request = client.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    request.send().await.expect("create_queue");
    format!("{}/{ACCOUNT}/{name}", endpoint.trim_end_matches('/'))
}

/// What a front door got back for one call.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The function's response: its status and body (JSON when it is).
    Answered { status: u16, body: Value },
    /// None: the region died with the call in it (or never took it).
    NoAnswer,
}

/// One local region: moto, the proxy its functions reach it through, its
/// queues, and (once [`Region::start_functions`] ran) its functions.
pub struct Region {
    /// "A", "B".
    pub name: &'static str,
    /// The AWS region it stands for.
    pub aws_region: &'static str,
    pub moto: Moto,
    /// Between the functions and moto (both their own queues and the other
    /// region's functions' fallback): what [`Region::hang_sqs`] breaks.
    pub proxy: FaultProxy,
    /// The harness's reader, on moto directly.
    pub client: aws_sdk_sqs::Client,
    pub events: String,
    pub quarantine: String,
    apis: HashMap<&'static str, RuntimeApi>,
    functions: tokio::sync::Mutex<Vec<Function>>,
    pub logs: Vec<PathBuf>,
    env: Vec<(String, String)>,
    dead: watch::Sender<bool>,
}

impl Region {
    /// A region with its moto server (started on a blocking thread), proxy
    /// and queues; no functions yet.
    pub async fn create(name: &'static str, aws_region: &'static str) -> Region {
        let moto = tokio::task::spawn_blocking(Moto::start).await.expect("moto started");
        let proxy = FaultProxy::start(&moto.endpoint).await;
        let client = sqs_client(&moto.endpoint, aws_region).await;
        let tag = format!("{}-{}", name.to_ascii_lowercase(), std::process::id());
        // FIFO, as the template's events queue can be: the fallback must
        // keep the message group and deduplication id.
        let events = create_queue(&client, &proxy.endpoint, &format!("drill-events-{tag}.fifo")).await;
        let quarantine = create_queue(&client, &proxy.endpoint, &format!("drill-quarantine-{tag}")).await;
        let (dead, _) = watch::channel(false);
        Region {
            name,
            aws_region,
            moto,
            proxy,
            client,
            events,
            quarantine,
            apis: HashMap::new(),
            functions: tokio::sync::Mutex::new(Vec::new()),
            logs: Vec::new(),
            env: Vec::new(),
            dead,
        }
    }

    /// The environment of this region's functions: its own queues, and
    /// `fallback`'s as the fallback, health checks on.
    pub fn env(&self, fallback: &Region) -> Vec<(String, String)> {
        let mut env = json_log_env(&self.proxy.endpoint);
        env.extend(
            [
                ("AWS_REGION", self.aws_region),
                ("AWS_DEFAULT_REGION", self.aws_region),
                ("QUEUE_URL", &self.events),
                ("QUARANTINE_QUEUE_URL", &self.quarantine),
                ("FALLBACK_QUEUE_URL", &fallback.events),
                ("FALLBACK_QUARANTINE_QUEUE_URL", &fallback.quarantine),
                ("FALLBACK_REGION", fallback.aws_region),
                ("HEALTH_CHECK", "true"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    /// Starts one environment of each webhook function, under an emulator
    /// each, logging to a file each.
    pub async fn start_functions(&mut self, fallback: &Region) {
        self.env = self.env(fallback);
        for vendor in VENDORS {
            let api = RuntimeApi::start().await.expect("emulator");
            let log = std::env::temp_dir().join(format!(
                "drill-{}-{vendor}-{}.log",
                self.name.to_ascii_lowercase(),
                std::process::id()
            ));
            let _ = std::fs::remove_file(&log);
            let function = Function::spawn(&function_binary(vendor), &api, vendor, &self.env, Some(&log))
                .expect("function starts");
            self.functions.lock().await.push(function);
            self.apis.insert(vendor, api);
            self.logs.push(log);
        }
    }

    /// Hands `event` to the `vendor` function; waits at most `wait`, and no
    /// longer than the region lives (a call a dead region holds is never
    /// answered: it ends at once rather than at the caller's time-out).
    pub async fn call(&self, vendor: &str, event: &Value, wait: Duration) -> Answer {
        let mut dead = self.dead.subscribe();
        tokio::select! {
            biased;
            answer = self.invoke(vendor, event, wait) => answer,
            _ = dead.wait_for(|d| *d) => Answer::NoAnswer,
        }
    }

    /// Hands `event` to the `vendor` function and waits at most `wait`: a
    /// dead region's emulator never answers, as a client sees it.
    async fn invoke(&self, vendor: &str, event: &Value, wait: Duration) -> Answer {
        let api = self.apis.get(vendor).expect("a vendor of the region");
        let outcome = api.invoke(event.to_string().as_bytes(), wait).await;
        match outcome {
            Ok(document) => {
                let document: Value = serde_json::from_slice(&document).unwrap_or(Value::Null);
                let status = document["statusCode"].as_u64().unwrap_or(0) as u16;
                let body = document["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or(Value::Null);
                Answer::Answered { status, body }
            }
            Err(_) => Answer::NoAnswer,
        }
    }

    /// A health check of the whole region: `GET /health/<vendor>` to each
    /// function at once, each answered 200 within `timeout` (like a Route 53
    /// calculated check over one check per route).
    pub async fn check(&self, timeout: Duration) -> bool {
        let checks = VENDORS.map(|vendor| async move {
            let event = Call::post(&format!("/health/{vendor}"), Vec::new())
                .method("GET")
                .header("content-type", "")
                .event(FrontDoor::HttpV2);
            matches!(
                self.invoke(vendor, &event, timeout).await,
                Answer::Answered { status: 200, .. }
            )
        });
        let [a, b] = checks;
        let (a, b) = tokio::join!(a, b);
        a && b
    }

    /// The region's SQS (for its own functions and for the other region's
    /// fallback) takes every request and never answers.
    pub fn hang_sqs(&self) {
        self.proxy.inject(None, Fault::Hang);
    }

    /// The region's SQS answers again (requests already hanging stay so).
    pub fn heal_sqs(&self) {
        self.proxy.clear();
    }

    /// The whole region stops: its functions are killed; calls in it, or
    /// sent to it from now on, get no answer. When it was dead.
    pub async fn kill(&self) -> Instant {
        for function in self.functions.lock().await.iter_mut() {
            let _ = function.child.kill().await;
        }
        let died = Instant::now();
        self.dead.send_replace(true);
        died
    }

    /// New execution environments in place of the running ones (as Lambda
    /// recycles them, or a deployment replaces them): nothing of what the
    /// old ones learnt (breakers, cached health) is left.
    pub async fn replace_environments(&self) {
        let mut functions = self.functions.lock().await;
        for function in functions.iter_mut() {
            let _ = function.child.kill().await;
        }
        functions.clear();
        for (vendor, log) in VENDORS.iter().zip(&self.logs) {
            let api = &self.apis[vendor];
            let function =
                Function::spawn(&function_binary(vendor), api, vendor, &self.env, Some(log)).expect("function starts");
            functions.push(function);
        }
    }

    pub fn is_dead(&self) -> bool {
        *self.dead.borrow()
    }

    /// Everything this region's functions logged.
    pub fn log_text(&self) -> String {
        self.logs
            .iter()
            .map(|log| std::fs::read_to_string(log).unwrap_or_default())
            .collect()
    }
}

/// Route 53's health checks, scaled down.
#[derive(Debug, Clone, Copy)]
pub struct HealthChecks {
    /// From one check of a region to the next (Route 53: 30 s, or 10 s).
    pub interval: Duration,
    /// A check not answered 200 within this fails (Route 53: 4 s to connect,
    /// 2 s for the answer).
    pub timeout: Duration,
    /// Failed checks in a row that make a region unhealthy, and good ones
    /// that make it healthy again (Route 53's failure threshold, default 3).
    pub threshold: u32,
}

/// A front door with failover routing between a primary and a secondary.
pub struct Router {
    pub primary: Arc<Region>,
    pub secondary: Arc<Region>,
    pub checks: HealthChecks,
    primary_healthy: AtomicBool,
    secondary_healthy: AtomicBool,
    /// When the routing changed, and to which region.
    moves: Mutex<Vec<(Instant, &'static str)>>,
    /// When a healthy region's first check failed.
    failures: Mutex<Vec<(Instant, &'static str)>>,
    timeline: Arc<Timeline>,
    stop: watch::Sender<bool>,
}

impl Router {
    /// Starts the health checks of both regions; both count as healthy at first.
    pub fn start(
        primary: Arc<Region>,
        secondary: Arc<Region>,
        checks: HealthChecks,
        timeline: Arc<Timeline>,
    ) -> Arc<Router> {
        let (stop, _) = watch::channel(false);
        let router = Arc::new(Router {
            primary,
            secondary,
            checks,
            primary_healthy: AtomicBool::new(true),
            secondary_healthy: AtomicBool::new(true),
            moves: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            timeline,
            stop,
        });
        for primary in [true, false] {
            let router = router.clone();
            tokio::spawn(async move { router.check_forever(primary).await });
        }
        router
    }

    /// Where a callback goes now: the primary while it is healthy.
    pub fn route(&self) -> &Arc<Region> {
        if self.primary_healthy.load(Ordering::SeqCst) {
            &self.primary
        } else {
            &self.secondary
        }
    }

    pub fn healthy(&self, primary: bool) -> bool {
        self.flag(primary).load(Ordering::SeqCst)
    }

    /// Every change of routing: when, and to which region.
    pub fn moves(&self) -> Vec<(Instant, &'static str)> {
        self.moves.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// When each run of failed checks began, by region.
    pub fn failures(&self) -> Vec<(Instant, &'static str)> {
        self.failures.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits (at most `limit`) until callbacks go to `region`; when they did.
    pub async fn wait_for_route(&self, region: &str, after: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some((at, _)) = self.moves().into_iter().find(|(at, to)| *to == region && *at >= after) {
                return Some(at);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the health checks.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn flag(&self, primary: bool) -> &AtomicBool {
        if primary {
            &self.primary_healthy
        } else {
            &self.secondary_healthy
        }
    }

    async fn check_forever(&self, primary: bool) {
        let region = if primary { &self.primary } else { &self.secondary };
        let mut stop = self.stop.subscribe();
        let (mut failed, mut passed) = (0u32, 0u32);
        loop {
            let began = Instant::now();
            let ok = tokio::select! {
                ok = region.check(self.checks.timeout) => ok,
                _ = stop.wait_for(|s| *s) => return,
            };
            let healthy = self.flag(primary).load(Ordering::SeqCst);
            if ok {
                failed = 0;
                passed += 1;
                if !healthy && passed >= self.checks.threshold {
                    self.flag(primary).store(true, Ordering::SeqCst);
                    self.timeline.mark(format!(
                        "{}: {} good health checks in a row: healthy",
                        region.name, self.checks.threshold
                    ));
                    if primary {
                        self.moved(region.name);
                    }
                }
            } else {
                passed = 0;
                failed += 1;
                if failed == 1 && healthy {
                    let at = self.timeline.mark(format!("{}: a health check fails", region.name));
                    if let Ok(mut failures) = self.failures.lock() {
                        failures.push((at, region.name));
                    }
                }
                if healthy && failed >= self.checks.threshold {
                    self.flag(primary).store(false, Ordering::SeqCst);
                    self.timeline.mark(format!(
                        "{}: {} failed health checks in a row: unhealthy",
                        region.name, self.checks.threshold
                    ));
                    if primary {
                        self.moved(self.secondary.name);
                    }
                }
            }
            let next = began + self.checks.interval;
            tokio::select! {
                _ = tokio::time::sleep_until(next.into()) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    fn moved(&self, to: &'static str) {
        let at = self.timeline.mark(format!("front door moves to {to}"));
        if let Ok(mut moves) = self.moves.lock() {
            moves.push((at, to));
        }
    }
}

/// The requests a function logged whole because no queue took them
/// (`unqueued_request`, JSON log format): their `requestId`s.
pub fn logged_request_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| {
            let record = line["fields"]["unqueued_request"].as_str()?.to_owned();
            let record: Value = serde_json::from_str(&record).ok()?;
            record["requestId"].as_str().map(str::to_owned)
        })
        .collect()
}

/// The median of `values` (zero when empty).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}
