//! The whole stack on this machine: moto (SQS) on loopback, the queues, both
//! function binaries under the Lambda Runtime API emulator.
//!
//!   local-stack --replay   replay every fixture in events/, print what was
//!                          answered and what landed where, then stop
//!                          (exit 1 if any outcome differs from the manifest)
//!   local-stack            serve http://127.0.0.1:$PORT until Ctrl-C:
//!                          /hooks/{artemis,amlyze} as HTTP API 2.0 events, and
//!                          the Lambda Invoke API (/2015-03-31/functions/NAME/invocations)
//!                          for raw events from events/ (`cargo lambda invoke`)
//!   local-stack --metrics  the metrics the functions wrote to .local/ (EMF),
//!                          per vendor, as the dashboard will show them
//!
//! With AWS_ENDPOINT_URL set, that SQS endpoint is used instead of a new moto.
//! With CONSUMER=on, the reference consumer (customer-state) runs too, on a
//! DynamoDB table of the same server, publishing transitions and alerts to
//! SNS topics there: the replay hands it what each fixture queued, as the SQS
//! event source would, and prints the table and the transitions at the end;
//! the server reads the events queue as the event source would, prints each
//! transition as it is published and serves them all at GET /transitions.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use bytes::Bytes;
use clap::Parser;
use dev::emf_summary;
use dev::local_consumer::{transition_line, LocalConsumer};
use harness::archive::LocalArchive;
use harness::emulator::RuntimeApi;
use harness::front_door::{event_of, http_response};
use harness::function::{function_binary, local_env, Function};
use harness::manifest;
use harness::sqs::{self, drain, Received};
use harness::Moto;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use intake::Provider;
use ops::history::{self, Customer};
use serde_json::Value;
use tokio::net::TcpListener;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

struct Stack {
    _moto: Option<Moto>,
    client: Client,
    queue: String,
    quarantine: String,
    /// The archive stream and its bucket (`.local/archive.ndjson` after a replay).
    archive: LocalArchive,
    /// One Runtime API, with its function running, per vendor.
    functions: Vec<(Provider, RuntimeApi, Function)>,
    consumer: Option<LocalConsumer>,
}

impl Stack {
    async fn start() -> Result<Stack, String> {
        let (moto, endpoint, raw_endpoint) = match std::env::var("AWS_ENDPOINT_URL") {
            Ok(endpoint) if !endpoint.is_empty() => (None, endpoint.clone(), endpoint),
            _ => {
                let moto = Moto::start();
                let (endpoint, raw) = (moto.endpoint.clone(), moto.raw_endpoint.clone());
                (Some(moto), endpoint, raw)
            }
        };
        let client = sqs::client(&endpoint).await;
        let fifo = std::env::var("FIFO").is_ok_and(|v| v == "1" || v == "true");
        let queue = sqs::create_queue(&client, "webhook-events", fifo).await;
        let quarantine = sqs::create_queue(&client, "webhook-quarantine", false).await;
        let archive = LocalArchive::create(&raw_endpoint).await;
        let logs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.local");
        std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        let mut env = local_env(
            &endpoint,
            &[
                ("QUEUE_URL", queue.as_str()),
                ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
                ("ARCHIVE_STREAM", archive.stream.as_str()),
            ],
        );
        for passed in [
            "ALLOWED_SOURCE_CIDRS",
            "SHARED_SECRET",
            "SHARED_SECRET_ARN",
            "ALLOW_UNAUTHENTICATED",
            "MAX_BODY_BYTES",
            "WEBHOOK_ALLOWED_RATE",
            "SQS_PREWARM",
            "RUST_LOG",
            "AWS_LAMBDA_LOG_LEVEL",
            "AWS_LAMBDA_LOG_FORMAT",
        ] {
            if let Ok(value) = std::env::var(passed) {
                env.push((passed.to_owned(), value));
            }
        }
        let mut functions = Vec::new();
        for &provider in Provider::ALL {
            let name = provider.name();
            let api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
            let log = logs.join(format!("{name}.log"));
            let _ = std::fs::remove_file(&log);
            let function =
                Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).map_err(|e| e.to_string())?;
            functions.push((provider, api, function));
        }
        let consumer = if std::env::var("CONSUMER").is_ok_and(|v| v == "on" || v == "1" || v == "true") {
            Some(LocalConsumer::start(&endpoint, &logs, fifo).await?)
        } else {
            None
        };
        eprintln!(
            "SQS endpoint   {endpoint}\nqueue          {queue}\nquarantine     {quarantine}\narchive        {} (bucket {})\nfunction logs  {}",
            archive.stream,
            archive.bucket,
            logs.display()
        );
        Ok(Stack {
            _moto: moto,
            client,
            queue,
            quarantine,
            archive,
            functions,
            consumer,
        })
    }

    /// The Runtime API of the function named `name`.
    fn function(&self, name: &str) -> Option<&RuntimeApi> {
        let provider = Provider::from_name(name)?;
        self.functions
            .iter()
            .find(|(p, _, _)| *p == provider)
            .map(|(_, api, _)| api)
    }

    /// The function a path is routed to: `/hooks/{name}…` (or `/{name}…`).
    fn route(&self, path: &str) -> Option<&'static str> {
        let rest = path.strip_prefix("/hooks").unwrap_or(path).strip_prefix('/')?;
        let name = rest.split(['/', '?']).next()?;
        Provider::from_name(name).map(Provider::name)
    }

    /// The routes, for a 404.
    fn routes(&self) -> String {
        let routes: Vec<String> = Provider::ALL.iter().map(|p| format!("/hooks/{}", p.name())).collect();
        routes.join(", ")
    }
}

fn status_of(outcome: &Result<Vec<u8>, String>) -> Option<u16> {
    let response: Value = serde_json::from_slice(outcome.as_ref().ok()?).ok()?;
    response["statusCode"].as_u64().map(|s| s as u16)
}

fn summary(message: &Received) -> String {
    let event = message.json();
    let label = |key: &str| event[key].as_str().unwrap_or("-").to_owned();
    if event.get("reason").is_some() {
        let fields: Vec<&str> = event["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        format!("quarantine  reason={} fields=[{}]", label("reason"), fields.join(", "))
    } else {
        format!(
            "queue       type={} subject={} id={}",
            label("type"),
            label("subject"),
            label("id")
        )
    }
}

async fn replay(stack: &Stack) -> bool {
    let fixtures = manifest::load();
    println!(
        "\n{:<42} {:<8} {:>8} {:>7} {:>11}  result",
        "fixture", "function", "status", "queued", "quarantined"
    );
    println!("{}", "-".repeat(92));
    let mut failed = 0;
    let (mut queued_total, mut quarantined_total) = (0, 0);
    for fixture in &fixtures {
        let outcome = match stack.function(&fixture.function) {
            Some(api) => api.invoke(fixture.event().as_bytes(), INVOKE_TIMEOUT).await,
            None => Err(format!("no function {:?}", fixture.function)),
        };
        let status = status_of(&outcome);
        let queued = drain(&stack.client, &stack.queue).await;
        let quarantined = drain(&stack.client, &stack.quarantine).await;
        (queued_total, quarantined_total) = (queued_total + queued.len(), quarantined_total + quarantined.len());
        let ok = status == Some(fixture.status)
            && queued.len() == fixture.queued
            && quarantined.len() == fixture.quarantined;
        failed += usize::from(!ok);
        let shown = status.map_or_else(|| format!("{outcome:?}"), |s| s.to_string());
        println!(
            "{:<42} {:<8} {:>8} {:>7} {:>11}  {}",
            fixture.file.trim_end_matches(".json"),
            fixture.function,
            shown,
            queued.len(),
            quarantined.len(),
            if ok {
                "ok".to_owned()
            } else {
                format!(
                    "MISMATCH (expected {} / {} / {})",
                    fixture.status, fixture.queued, fixture.quarantined
                )
            }
        );
        for message in queued.iter().chain(&quarantined) {
            println!("    └ {}", summary(message));
        }
        if let (Some(consumer), false) = (&stack.consumer, queued.is_empty()) {
            match consumer.deliver(&queued).await {
                Ok(failed_ids) if failed_ids.is_empty() => {}
                other => {
                    failed += 1;
                    println!("    └ CONSUMER FAILED: {other:?}");
                }
            }
        }
    }
    if let Some(consumer) = &stack.consumer {
        consumer.print().await;
    }
    failed += usize::from(!print_archive(stack, queued_total, quarantined_total).await);
    print!("{}", emf_summary::local());
    println!("{}", "-".repeat(92));
    println!(
        "{} fixtures: {} as expected, {} mismatched",
        fixtures.len(),
        fixtures.len() - failed,
        failed
    );
    failed == 0
}

/// The archive after a replay: saved to `.local/archive.ndjson` (what
/// `make history` reads), its counts, and one customer's timeline. False when
/// it does not hold as many events and quarantine records as the queues took.
async fn print_archive(stack: &Stack, queued: usize, quarantined: usize) -> bool {
    let text = stack.archive.text().await;
    let file = PathBuf::from(history::LOCAL_ARCHIVE);
    if let Err(err) = std::fs::write(&file, &text) {
        println!("archive: cannot write {}: {err}", file.display());
        return false;
    }
    let (messages, unreadable) = intake::kept::join_parts(text.lines());
    let count = |kind: &str| messages.iter().filter(|m| m.kind == kind).count();
    println!(
        "\narchive: {} records, {} events and {} quarantine records ({} unreadable), in {}",
        text.lines().count(),
        count("event"),
        count("quarantine"),
        unreadable,
        file.display()
    );
    let customer = Customer {
        subject: Some("CUST-000123".to_owned()),
        customer_id: None,
    };
    println!("\ntimeline of CUST-000123 (make history SUBJECT=CUST-000123):");
    history::print(&history::timeline(&messages, &customer));
    let reconciled = unreadable == 0 && count("event") == queued && count("quarantine") == quarantined;
    println!(
        "archive reconciled with the queues ({queued} queued, {quarantined} quarantined): {}",
        if reconciled { "yes" } else { "NO" }
    );
    reconciled
}

/// Turns a plain HTTP request into an HTTP API 2.0 event, invokes the
/// function, and turns its response document back into HTTP.
async fn front_door(
    stack: Arc<Stack>,
    peer: SocketAddr,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path == "/transitions" {
        return Ok(transitions_page(&stack));
    }
    if let Some(name) = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
    {
        return Ok(invoke_api(&stack, name, request).await);
    }
    let Some(api) = stack.route(&path).and_then(|name| stack.function(name)) else {
        let mut response = hyper::Response::new(Full::new(Bytes::from(format!("routes: {}\n", stack.routes()))));
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return Ok(response);
    };
    let event = event_of(request, peer.ip()).await;
    let outcome = api.invoke(event.to_string().as_bytes(), INVOKE_TIMEOUT).await;
    let document = outcome
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    Ok(http_response(document.as_ref()))
}

/// Every transition the consumer published so far, as a JSON array
/// (newest last); 404 without the consumer.
fn transitions_page(stack: &Stack) -> hyper::Response<Full<Bytes>> {
    let Some(consumer) = &stack.consumer else {
        let mut response =
            hyper::Response::new(Full::new(Bytes::from("the reference consumer is off (CONSUMER=off)\n")));
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return response;
    };
    let body = serde_json::to_vec_pretty(&consumer.seen()).unwrap_or_default();
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The SQS event source of `make local`: hands what lands on the events
/// queue to the consumer in batches, and prints each transition and alert
/// it publishes as it arrives.
async fn consume(stack: Arc<Stack>) {
    let Some(consumer) = &stack.consumer else { return };
    loop {
        let queued = drain(&stack.client, &stack.queue).await;
        for batch in queued.chunks(10) {
            match consumer.deliver(batch).await {
                Ok(failed) if failed.is_empty() => {}
                other => eprintln!("consumer: batch failed: {other:?}"),
            }
        }
        if !queued.is_empty() {
            let (transitions, alerts) = consumer.published().await;
            for t in &transitions {
                eprintln!("transition  {}", transition_line(t));
            }
            for alert in &alerts {
                eprintln!("alert       {}", alert.lines().next().unwrap_or_default());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The Lambda Invoke API (`cargo lambda invoke`, `aws lambda invoke
/// --endpoint-url`): the body is a raw event, the answer the function's
/// response document.
async fn invoke_api(
    stack: &Stack,
    name: &str,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let respond = |status: u16, body: Vec<u8>| {
        let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
        response
    };
    let Some(api) = stack.function(name) else {
        return respond(
            404,
            format!("no function {name:?}; the routes are {}\n", stack.routes()).into_bytes(),
        );
    };
    let event = harness::read_body(request.into_body()).await;
    match api.invoke(&event, INVOKE_TIMEOUT).await {
        Ok(document) => respond(200, document),
        Err(error) => respond(502, error.into_bytes()),
    }
}

async fn serve(stack: Arc<Stack>, port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("port {port}: {e}"))?;
    if stack.consumer.is_some() {
        tokio::spawn(consume(stack.clone()));
        eprintln!("\nThe reference consumer reads the events queue; its transitions print here and at http://127.0.0.1:{port}/transitions");
    }
    eprintln!(
        "\nListening on http://127.0.0.1:{port}\n  curl -i -X POST http://127.0.0.1:{port}/hooks/artemis -H 'content-type: application/json' --data @events/bodies/artemis-insert.json\n  make replay URL=http://127.0.0.1:{port}\n  cargo lambda invoke artemis --invoke-address 127.0.0.1 --invoke-port {port} --data-file events/artemis-insert.rest-v1.json\nCtrl-C stops everything."
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let stack = stack.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| front_door(stack.clone(), peer, request));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The whole stack on this machine: moto on loopback, the queues, both
/// function binaries (and with CONSUMER=on the reference consumer) under the
/// Lambda Runtime API emulator. AWS_ENDPOINT_URL: an SQS endpoint to use
/// instead of a new moto; FIFO=true: FIFO queues.
#[derive(Parser)]
#[command(name = "local-stack")]
struct Args {
    /// Replay every fixture in events/, print what was answered and what
    /// landed where, then stop (exit 1 if any outcome differs from the manifest).
    #[arg(long, conflicts_with = "metrics")]
    replay: bool,
    /// Print the metrics the functions wrote to .local/ (EMF), per vendor.
    #[arg(long)]
    metrics: bool,
    /// Without --replay: serve on this port until Ctrl-C.
    #[arg(long, env = "PORT", default_value_t = 9000)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        replay: replay_mode,
        metrics,
        port,
    } = Args::parse();
    if metrics {
        print!("{}", emf_summary::local());
        return ExitCode::SUCCESS;
    }
    let stack = match Stack::start().await {
        Ok(stack) => stack,
        Err(err) => {
            eprintln!("local-stack: {err}");
            return ExitCode::FAILURE;
        }
    };
    if replay_mode {
        let ok = replay(&stack).await;
        drop(stack);
        return if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    // When main returns, the runtime drops every task and with them the last
    // reference to the stack: the functions and moto are stopped.
    let result = serve(Arc::new(stack), port).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-stack: {err}");
            ExitCode::FAILURE
        }
    }
}
