//! The dashboard cannot drift from the functions: every `WebhookIntake`
//! metric a widget of `template.yaml`'s dashboard uses (name and dimension
//! names, in a metric line or a SEARCH expression) is one the built binaries
//! emit, and every metric they emit is on the dashboard (or named in
//! [`NOT_ON_THE_DASHBOARD`], with the reason). A metric renamed on one side
//! only fails here instead of showing an empty graph. The runs cover every
//! metric with a value: a second region's queue takes the events once this
//! region's fails (`SpilledToFallback` above 0).

use std::collections::BTreeSet;
use std::time::Duration;

use harness::emulator::RuntimeApi;
use harness::faults::{Fault, FaultProxy};
use harness::function::json_log_env;
use harness::function::{function_binary, Function};
use harness::sqs;
use harness::Moto;
use serde_json::Value;

/// Our namespace; AWS's own (`AWS/SQS`, `AWS/Lambda`, …) are not ours to check.
const NAMESPACE: &str = "WebhookIntake";

/// Metrics the functions emit that the dashboard leaves out on purpose.
const NOT_ON_THE_DASHBOARD: &[(&str, &[&str])] = &[];

/// A metric as CloudWatch keys it: its name and its dimension names.
type Metric = (String, Vec<String>);

/// The dashboard's body, as written in the template (`DashboardBody: !Sub`,
/// then a literal block), with every `${…}` outside a string made a number.
fn dashboard() -> Value {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let lines: Vec<&str> = template.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("DashboardBody: !Sub"))
        .expect("a DashboardBody in template.yaml");
    assert_eq!(lines[start + 1].trim(), "- |", "the body is a literal block");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[start + 1]);
    let body: Vec<&str> = lines[start + 2..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .copied()
        .collect();
    let mut text = String::new();
    let mut in_string = false;
    let mut chars = body.join("\n").chars().collect::<Vec<_>>().into_iter().peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        if c == '"' && previous != '\\' {
            in_string = !in_string;
        }
        if c == '$' && !in_string && chars.peek() == Some(&'{') {
            for skipped in chars.by_ref() {
                if skipped == '}' {
                    break;
                }
            }
            text.push('0');
            previous = '0';
            continue;
        }
        text.push(c);
        previous = if previous == '\\' && c == '\\' { ' ' } else { c };
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}\n{text}"))
}

/// Every `WebhookIntake` metric the dashboard's widgets use.
fn on_the_dashboard(body: &Value) -> BTreeSet<Metric> {
    let mut found = BTreeSet::new();
    let widgets = body["widgets"].as_array().expect("widgets");
    for line in widgets
        .iter()
        .filter_map(|w| w["properties"]["metrics"].as_array())
        .flatten()
    {
        let parts = line.as_array().expect("a metric line is an array");
        if let Some(expression) = parts.first().and_then(|p| p["expression"].as_str()) {
            found.extend(searched(expression));
            continue;
        }
        let strings: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
        if strings.first() != Some(&NAMESPACE) {
            continue;
        }
        let dimensions = strings[2..].iter().step_by(2).map(|d| d.to_string()).collect();
        found.insert(key(strings[1], dimensions));
    }
    found
}

/// The metric of `SEARCH('{Namespace,dim,…} MetricName="Name" …', …)`.
fn searched(expression: &str) -> Option<Metric> {
    let schema = expression.split_once('{')?.1.split_once('}')?.0;
    let mut parts = schema.split(',').map(str::trim);
    if parts.next()? != NAMESPACE {
        return None;
    }
    let dimensions = parts.map(str::to_owned).collect();
    let name = expression.split_once("MetricName=\"")?.1.split_once('"')?.0;
    Some(key(name, dimensions))
}

fn key(name: &str, mut dimensions: Vec<String>) -> Metric {
    dimensions.sort();
    (name.to_owned(), dimensions)
}

/// Every metric in the EMF documents among `log`'s lines.
fn emitted(log: &str) -> BTreeSet<Metric> {
    let mut found = BTreeSet::new();
    for document in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
            assert_eq!(directive["Namespace"], NAMESPACE, "{document}");
            for dimensions in directive["Dimensions"].as_array().into_iter().flatten() {
                let dimensions: Vec<String> = dimensions
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect();
                for metric in directive["Metrics"].as_array().into_iter().flatten() {
                    found.insert(key(metric["Name"].as_str().unwrap(), dimensions.clone()));
                }
            }
        }
    }
    found
}

/// The sum of `metric` over the EMF documents among `log`'s lines.
fn total(log: &str, metric: &str) -> f64 {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|document| document.get("_aws").is_some())
        .filter_map(|document| document[metric].as_f64())
        .sum()
}

/// `event` with the webhook token in whichever header map its front door has.
fn with_token(event: &str, token: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(event).unwrap();
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.insert("x-webhook-token".into(), token.into());
    }
    if let Some(headers) = event["multiValueHeaders"].as_object_mut() {
        headers.insert("x-webhook-token".into(), serde_json::json!([token]));
    }
    event.to_string().into_bytes()
}

/// What the function `name` logged while it answered `calls`, with `settings`.
async fn run(name: &str, endpoint: &str, settings: &[(&str, &str)], calls: &[Vec<u8>]) -> String {
    let api = RuntimeApi::start().await.unwrap();
    let mut env = json_log_env(endpoint);
    env.retain(|(k, _)| k != "ALLOW_UNAUTHENTICATED");
    env.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let log = std::env::temp_dir().join(format!(
        "dashboard-{name}-{}-{}.log",
        std::process::id(),
        settings.len()
    ));
    let _ = std::fs::remove_file(&log);
    let function = Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).unwrap();
    for call in calls {
        api.invoke(call, Duration::from_secs(20)).await.unwrap();
    }
    drop(function);
    std::fs::read_to_string(&log).unwrap_or_default()
}

#[tokio::test]
async fn the_dashboard_shows_exactly_the_metrics_the_functions_emit() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "dashboard-events", false).await;
    let quarantine = sqs::create_queue(&client, "dashboard-quarantine", false).await;
    let token = "dashboard-token-0123456789abcdef0123";
    let fixtures = harness::manifest::load();
    let mut log_text = String::new();
    for provider in intake::Provider::ALL {
        let name = provider.name();
        let fixture = fixtures.iter().find(|f| f.function == name && f.status == 202).unwrap();
        // Every fixture of the vendor (accepted, refused for each reason,
        // unknown enum values), with the token; one twice (a repeat); then
        // wrong tokens past the kept-401 budget of one minute.
        let mut calls: Vec<Vec<u8>> = fixtures
            .iter()
            .filter(|f| f.function == name)
            .map(|f| with_token(&f.event(), token))
            .collect();
        calls.push(with_token(&fixture.event(), token));
        for _ in 0..=intake::testing::KEPT_UNAUTHORIZED_PER_MINUTE {
            calls.push(with_token(&fixture.event(), "a-wrong-token"));
        }
        let settings = [
            ("QUEUE_URL", queue.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
            // A boundary, so that wrong tokens are kept (and, past the
            // budget, counted as not kept).
            ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24"),
            ("SHARED_SECRET", token),
        ];
        log_text.push_str(&run(name, endpoint, &settings, &calls).await);
        // And once with an archive stream that does not exist: the record
        // is refused (`Unarchived`), the answer unchanged.
        let archive_down = [settings.as_slice(), &[("ARCHIVE_STREAM", "no-such-stream")]].concat();
        log_text.push_str(&run(name, endpoint, &archive_down, &calls[..1]).await);
    }

    // And once more with this region's events queue failing (500 from a
    // proxy in front of it) and a second queue as the fallback region's
    // (FALLBACK_QUEUE_URL on the same moto, signed for us-east-1): the
    // accepted events go there, counted as SpilledToFallback.
    let proxy = FaultProxy::start(endpoint).await;
    let failing = sqs::create_queue(&client, "dashboard-spill-events", false).await;
    let fallback = sqs::create_queue(&client, "dashboard-spill-fallback", false).await;
    proxy.inject(Some("dashboard-spill-events"), Fault::Status(500, "InternalError"));
    let mut spill_log = String::new();
    for provider in intake::Provider::ALL {
        let name = provider.name();
        let accepted: Vec<Vec<u8>> = fixtures
            .iter()
            .filter(|f| f.function == name && f.status == 202)
            .map(|f| with_token(&f.event(), token))
            .collect();
        let settings = [
            ("QUEUE_URL", failing.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
            ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24"),
            ("SHARED_SECRET", token),
            ("FALLBACK_QUEUE_URL", fallback.as_str()),
            ("FALLBACK_REGION", "us-east-1"),
        ];
        spill_log.push_str(&run(name, &proxy.endpoint, &settings, &accepted).await);
    }
    assert!(
        proxy.faulted() > 0,
        "the local events queue was never tried: the run does not exercise the fallback"
    );
    assert!(
        total(&spill_log, "SpilledToFallback") > 0.0,
        "no SpilledToFallback above 0 while the local queue failed and a fallback was set:\n{spill_log}"
    );
    log_text.push_str(&spill_log);

    let emitted = emitted(&log_text);
    let shown = on_the_dashboard(&dashboard());
    assert!(!emitted.is_empty() && !shown.is_empty());
    let unknown: Vec<_> = shown.difference(&emitted).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard shows metrics the functions never emitted: {unknown:?}\nemitted: {emitted:?}"
    );
    let exceptions: BTreeSet<Metric> = NOT_ON_THE_DASHBOARD
        .iter()
        .map(|(name, dimensions)| key(name, dimensions.iter().map(|d| d.to_string()).collect()))
        .collect();
    let missing: Vec<_> = emitted.difference(&shown).filter(|m| !exceptions.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "the functions emit metrics the dashboard does not show: {missing:?}"
    );
    for wanted in [
        "UnknownEnumValue",
        "Unarchived",
        "UnauthorizedNotKept",
        "Repeats",
        "SpilledToFallback",
    ] {
        assert!(
            emitted.iter().any(|(name, _)| name == wanted),
            "the run emitted no {wanted}: it no longer exercises every metric"
        );
    }
}
