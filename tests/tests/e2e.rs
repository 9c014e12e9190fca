//! End to end: the built `artemis` and `amlyze` binaries, run under the Lambda
//! Runtime API emulator, against moto.

use std::time::Duration;

use harness::emulator::{invoke_json as invoke, RuntimeApi};
use harness::function::json_log_env as aws_env;
use harness::function::{assert_log_records_fit, function_binary, Function};
use harness::sqs::{self, drain};
use harness::{Call, FrontDoor, Moto};
use serde_json::Value;

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");

#[tokio::test]
async fn both_binaries_accept_and_enqueue_under_the_runtime_api() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-events", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-quarantine", false).await;
    let log_dir = std::env::temp_dir();

    for (name, call) in [
        ("artemis", Call::post("/hooks/artemis", INSERT)),
        (
            "amlyze",
            Call::post("/hooks/amlyze", AMLYZE)
                .header("ce-id", "e2e-1")
                .header("ce-source", "customer")
                .header("ce-type", "com.amlyze.customer.updated")
                .header("ce-specversion", "1.0"),
        ),
    ] {
        let api = RuntimeApi::start().await.unwrap();
        let mut env = aws_env(endpoint);
        env.push(("QUEUE_URL".into(), queue.clone()));
        env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
        let log = log_dir.join(format!("e2e-{name}-{}.log", std::process::id()));
        let _function = Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).unwrap();

        let accepted = invoke(&api, &call.event(FrontDoor::HttpV2)).await;
        assert_eq!(accepted["statusCode"], 202, "{name}: {accepted}");
        let body: Value = serde_json::from_str(accepted["body"].as_str().unwrap()).unwrap();
        let queued = drain(&client, &queue).await;
        assert_eq!(queued.len(), 1, "{name}");
        assert_eq!(queued[0].json()["id"], body["id"]);
        assert_eq!(queued[0].json()["provider"], name);
        // moto drops a batch entry's system attributes: check what went on the wire.
        let sent = harness::faults::sent_to(&queue);
        assert_eq!(
            sent.last().and_then(|m| m.trace_header.as_deref()),
            Some(harness::emulator::TRACE_ID),
            "{name}: the invocation's X-Ray trace id is passed on as AWSTraceHeader"
        );

        // A REST v1 event through the same warm process, this time invalid.
        let invalid = invoke(&api, &Call::post(&call.path, "{\"broken\":").event(FrontDoor::RestV1)).await;
        assert_eq!(invalid["statusCode"], 400, "{name}: {invalid}");
        let kept = drain(&client, &quarantine).await;
        assert_eq!(kept.len(), 1, "{name}");
        assert_eq!(kept[0].json()["body"], "{\"broken\":");

        let logs = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let accepted_line = lines
            .iter()
            .find(|l| l["fields"]["outcome"] == "accepted")
            .expect("one line per request");
        let dedupe_key = queued[0].json()["dedupekey"].as_str().unwrap().to_owned();
        assert!(accepted_line["fields"]["dedupe_keys"]
            .as_str()
            .unwrap()
            .contains(&dedupe_key));
        // Metrics in Embedded Metric Format: Accepted for the first request,
        // Rejected (with its reason) and Quarantined for the second.
        let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
        assert!(
            emf.iter().any(|m| m["provider"] == name && m["Accepted"] == 1),
            "{name}: {logs}"
        );
        assert!(emf.iter().any(|m| m["reason"] == "invalid-event" && m["Rejected"] == 1));
        assert!(emf.iter().any(|m| m["Quarantined"] == 1));
    }
}

#[tokio::test]
async fn a_missing_setting_fails_at_init_naming_the_variable() {
    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!("e2e-init-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut env = aws_env("http://127.0.0.1:9");
    env.push(("MAX_BODY_BYTES".into(), "200".into()));
    let mut function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), function.child.wait())
        .await
        .expect("the function stops at init")
        .unwrap();
    assert!(!status.success());
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("QUEUE_URL is required but not set"), "{logs}");

    let api = RuntimeApi::start().await.unwrap();
    env.push(("QUEUE_URL".into(), "http://127.0.0.1:9/1/q".into()));
    env.push(("ALLOWED_SOURCE_CIDRS".into(), "10.0.0.0/33".into()));
    let mut function = Function::spawn(&function_binary("amlyze"), &api, "amlyze", &env, Some(&log)).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), function.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("ALLOWED_SOURCE_CIDRS is malformed"));
}

/// `recover` leaves a logged request that passed no sender check
/// (`unauthorized`: a wrong token behind the allowlist, logged because no
/// quarantine queue could take it) and counts it; `--vouched` takes it.
#[tokio::test]
async fn recover_leaves_unauthorized_requests_until_a_person_vouches_for_them() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-vouched", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-vouched-quarantine", false).await;
    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!("e2e-vouched-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut env = aws_env(endpoint);
    env.retain(|(k, _)| k != "ALLOW_UNAUTHENTICATED");
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push((
        "QUARANTINE_QUEUE_URL".into(),
        "http://127.0.0.1:9/123456789012/gone".into(),
    ));
    env.push(("ALLOWED_SOURCE_CIDRS".into(), "203.0.113.0/24".into()));
    env.push(("SHARED_SECRET".into(), "hunter2-very-secret".into()));
    let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
    let refused = Call::post("/hooks/artemis", INSERT).header("x-webhook-token", "a-wrong-token");
    assert_eq!(invoke(&api, &refused.event(FrontDoor::HttpV2)).await["statusCode"], 401);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("unqueued_request"),
        "the refused request is logged: {logs}"
    );
    assert!(!logs.contains("a-wrong-token"), "redacted: {logs}");

    let vars = [
        ("QUEUE_URL", queue.as_str()),
        ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
    ];
    let stdout = recover(&log, &vars).await;
    assert!(
        stdout.contains("0 queued, 0 quarantined, 0 archived, 0 failed, 1 left for a person"),
        "{stdout}"
    );
    assert!(stdout.contains("unauthorized"), "{stdout}");
    assert!(drain(&client, &queue).await.is_empty(), "nothing queued unvouched");

    let stdout = harness::function::recover(&["--vouched"], &log, &vars).await;
    assert!(
        stdout.contains("1 queued, 0 quarantined, 0 archived, 0 failed, 0 left"),
        "{stdout}"
    );
    assert_eq!(drain(&client, &queue).await.len(), 1);
}

/// Contract, `ALLOW_UNAUTHENTICATED`: no token and no allowlist, or an
/// allowlist too wide to be a boundary (split or not), fails init naming the
/// variables; set to `true`, the same configuration starts.
#[tokio::test]
async fn an_open_door_fails_at_init_unless_allowed_by_name() {
    let log = std::env::temp_dir().join(format!("e2e-open-{}.log", std::process::id()));
    let mut env = aws_env("http://127.0.0.1:9");
    env.retain(|(k, _)| k != "ALLOW_UNAUTHENTICATED");
    env.push(("QUEUE_URL".into(), "http://127.0.0.1:9/1/q".into()));
    for (binary, cidrs) in [
        ("artemis", None),
        ("amlyze", Some("0.0.0.0/1,128.0.0.0/1")),
        ("artemis", Some("203.0.113.0/24,::/0")),
    ] {
        let _ = std::fs::remove_file(&log);
        let mut env = env.clone();
        env.extend(cidrs.map(|c| ("ALLOWED_SOURCE_CIDRS".to_owned(), c.to_owned())));
        let api = RuntimeApi::start().await.unwrap();
        let mut function = Function::spawn(&function_binary(binary), &api, binary, &env, Some(&log)).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), function.child.wait())
            .await
            .expect("the function stops at init")
            .unwrap();
        assert!(!status.success(), "{binary} {cidrs:?} must not start");
        let logs = std::fs::read_to_string(&log).unwrap();
        for var in ["ALLOW_UNAUTHENTICATED", "SHARED_SECRET_ARN", "ALLOWED_SOURCE_CIDRS"] {
            assert!(
                logs.contains(var),
                "{binary} {cidrs:?}: the init error names {var}: {logs}"
            );
        }

        env.push(("ALLOW_UNAUTHENTICATED".into(), "true".into()));
        let api = RuntimeApi::start().await.unwrap();
        let _function = Function::spawn(&function_binary(binary), &api, binary, &env, Some(&log)).unwrap();
        initialized(&api).await;
        assert_eq!(
            api.init_error().await,
            None,
            "{binary} {cidrs:?} starts when allowed by name"
        );
    }
}

#[tokio::test]
async fn without_a_quarantine_queue_an_invalid_request_is_logged_whole_without_the_secret() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-logged", false).await;
    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!("e2e-logged-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut env = aws_env(endpoint);
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push(("SHARED_SECRET".into(), "hunter2-very-secret".into()));
    let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();

    let accepted = Call::post("/hooks/artemis", INSERT).header("x-webhook-token", "hunter2-very-secret");
    assert_eq!(
        invoke(&api, &accepted.event(FrontDoor::RestV1)).await["statusCode"],
        202
    );
    let invalid =
        Call::post("/hooks/artemis", "{\"customerId\": \"not a number\"}").query("token", "hunter2-very-secret");
    assert_eq!(invoke(&api, &invalid.event(FrontDoor::HttpV2)).await["statusCode"], 400);
    let refused = Call::post("/hooks/artemis", INSERT).header("x-webhook-token", "hunter2-very-secreT");
    assert_eq!(invoke(&api, &refused.event(FrontDoor::HttpV2)).await["statusCode"], 401);

    assert_log_records_fit(&log);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        !logs.contains("hunter2"),
        "the secret never reaches a log line:\n{logs}"
    );
    let record = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|line| line["fields"]["unqueued_request"].as_str().map(str::to_owned))
        .expect("one error record holds the request");
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["body"], "{\"customerId\": \"not a number\"}");
    assert_eq!(record["query"]["token"], "[redacted]");
    assert_eq!(record["status"], 400);
    assert_eq!(drain(&client, &queue).await.len(), 1, "only the valid event was queued");
}

// Both of Lambda's log formats: JSON, and Text (the default when the
// function's LoggingConfig says nothing), whose fields are `name=value`.
#[tokio::test]
async fn a_logged_request_is_recovered_onto_the_queue_with_the_same_ids_from_json_logs() {
    a_logged_request_is_recovered("JSON").await;
}

#[tokio::test]
async fn a_logged_request_is_recovered_onto_the_queue_with_the_same_ids_from_text_logs() {
    a_logged_request_is_recovered("Text").await;
}

async fn a_logged_request_is_recovered(format: &str) {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-recovered", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-recovered-quarantine", false).await;
    let log = std::env::temp_dir().join(format!("e2e-recover-{format}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);

    // SQS unreachable and no quarantine queue: everything ends in the log.
    let closed = format!("http://127.0.0.1:{}", harness::moto::free_port());
    let mut env = aws_env(&closed);
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), format.into()));
    env.push(("QUEUE_URL".into(), format!("{closed}/123456789012/events")));
    let amlyze = Call::post("/hooks/amlyze", AMLYZE)
        .header("ce-id", "recover-1")
        .header("ce-source", "customer")
        .header("ce-type", "com.amlyze.customer.updated")
        .header("ce-specversion", "1.0");
    // Large and escape-heavy: its record is logged in numbered parts.
    let big = format!("{{\"customerId\": \"{}\"}}", "\\\"\\u0001é".repeat(20_000));
    for (name, calls) in [
        (
            "artemis",
            vec![
                Call::post("/hooks/artemis", INSERT).request_id("recover-artemis-1"),
                Call::post("/hooks/artemis", "{\"customerId\": true}"),
                Call::post("/hooks/artemis", big.clone()),
            ],
        ),
        ("amlyze", vec![amlyze]),
    ] {
        let api = RuntimeApi::start().await.unwrap();
        let _function = Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).unwrap();
        for call in calls {
            let answer = invoke(&api, &call.event(FrontDoor::HttpV2)).await;
            assert!(
                answer["statusCode"] == 503 || answer["statusCode"] == 400,
                "{name}: {answer}"
            );
        }
    }
    assert_log_records_fit(&log);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("unqueued_request_part"),
        "the large request was logged in parts"
    );
    let now = time::OffsetDateTime::now_utc();
    let artemis_direct_id = intake::testing::artemis::parse(INSERT.as_bytes(), now, "recover-artemis-1")
        .unwrap()
        .events[0]
        .id
        .clone();

    let stdout = recover(&log, &[("QUEUE_URL", &queue), ("QUARANTINE_QUEUE_URL", &quarantine)]).await;
    assert!(
        stdout.contains("2 queued, 2 quarantined, 0 archived, 0 failed"),
        "{format}: {stdout}"
    );

    let queued: Vec<Value> = drain(&client, &queue).await.iter().map(|m| m.json()).collect();
    let ids: Vec<&str> = queued.iter().filter_map(|e| e["id"].as_str()).collect();
    assert!(ids.contains(&"recover-1"), "{ids:?}");
    assert!(
        ids.contains(&artemis_direct_id.as_str()),
        "the Artemis id is the one the same delivery gives"
    );
    let amlyze_event = queued.iter().find(|e| e["id"] == "recover-1").unwrap();
    assert_eq!(amlyze_event["data"]["updatedAt"], "2019-12-13T12:01:02.694Z");
    let kept: Vec<Value> = drain(&client, &quarantine).await.iter().map(|m| m.json()).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().any(|r| r["body"] == "{\"customerId\": true}"));
    assert!(
        kept.iter().any(|r| r["body"] == big.as_str()),
        "{format}: the large request, rebuilt exactly from its parts"
    );
}

#[tokio::test]
async fn with_the_archive_down_the_answer_is_unchanged_and_recover_archives_what_was_logged() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-unarchived", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-unarchived-quarantine", false).await;
    let archive = harness::archive::LocalArchive::create(&Moto::shared().raw_endpoint).await;
    let closed = format!("http://127.0.0.1:{}", harness::moto::free_port());
    for format in ["JSON", "Text"] {
        let log = std::env::temp_dir().join(format!("e2e-unarchived-{format}-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut env = aws_env(endpoint);
        env.push(("AWS_LAMBDA_LOG_FORMAT".into(), format.into()));
        env.push(("AWS_ENDPOINT_URL_FIREHOSE".into(), closed.clone()));
        env.push(("QUEUE_URL".into(), queue.clone()));
        env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
        env.push(("ARCHIVE_STREAM".into(), archive.stream.clone()));
        let api = RuntimeApi::start().await.unwrap();
        let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
        // A valid event, an invalid one, and one whose quarantine record is
        // large (logged in parts when the archive refuses it).
        let big = format!("{{\"customerId\": \"{}\"}}", "\\\"é".repeat(40_000));
        let calls = [
            (
                Call::post("/hooks/artemis", INSERT).request_id(&format!("unarchived-{format}-1")),
                202,
            ),
            (Call::post("/hooks/artemis", "{\"customerId\": true}"), 400),
            (Call::post("/hooks/artemis", big.clone()), 400),
        ];
        for (call, status) in calls {
            let started = std::time::Instant::now();
            let answer = invoke(&api, &call.event(FrontDoor::HttpV2)).await;
            assert_eq!(
                answer["statusCode"], status,
                "{format}: the answer is what it is without an archive"
            );
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "{format}: within the SQS budget"
            );
        }
        assert_log_records_fit(&log);
        let logs = std::fs::read_to_string(&log).unwrap();
        assert!(
            logs.contains("unarchived_record_part"),
            "{format}: the large record was logged in parts"
        );
        assert!(logs.contains("\"Unarchived\":1"), "{format}: the Unarchived metric");
    }
    let queued = drain(&client, &queue).await;
    let quarantined = drain(&client, &quarantine).await;
    assert_eq!((queued.len(), quarantined.len()), (2, 4));
    assert!(archive.messages().await.is_empty(), "nothing reached the archive");

    for format in ["JSON", "Text"] {
        let log = std::env::temp_dir().join(format!("e2e-unarchived-{format}-{}.log", std::process::id()));
        let vars = [
            ("QUEUE_URL", queue.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
            ("ARCHIVE_STREAM", archive.stream.as_str()),
        ];
        let stdout = recover(&log, &vars).await;
        assert!(
            stdout.contains("0 queued, 0 quarantined, 3 archived, 0 failed"),
            "{format}: {stdout}"
        );
    }
    let mut archived: Vec<String> = archive.messages().await.into_iter().map(|m| m.message).collect();
    let mut kept: Vec<String> = queued.iter().chain(&quarantined).map(|m| m.body.clone()).collect();
    archived.sort();
    kept.sort();
    assert!(archived == kept, "the archive now holds exactly what SQS took");
}

/// Runs the built `recover` on `log` against moto with `vars`; its output,
/// once it has succeeded.
async fn recover(log: &std::path::Path, vars: &[(&str, &str)]) -> String {
    harness::function::recover(&[], log, vars).await
}

/// Waits until the function has finished its init (polled for work).
async fn initialized(api: &RuntimeApi) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while api.first_poll().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the function never finished its init"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sqs_prewarm_opens_the_connection_at_init_and_the_first_request_reuses_it() {
    use harness::faults::{Fault, FaultProxy};
    let moto = &Moto::shared().endpoint;
    let client = sqs::client(moto).await;
    let queue = sqs::create_queue(&client, "e2e-prewarm", false).await;
    let event = Call::post("/hooks/artemis", INSERT).event(FrontDoor::HttpV2);

    // (prewarm, the SQS answer at init, SQS requests made during init)
    for (prewarm, refuse, requests_at_init) in [("true", false, 1), ("true", true, 1), ("false", false, 0)] {
        let proxy = FaultProxy::start(moto).await;
        if refuse {
            proxy.inject(None, Fault::Status(403, "AccessDenied"));
        }
        let api = RuntimeApi::start().await.unwrap();
        let mut env = aws_env(&proxy.endpoint);
        env.push(("QUEUE_URL".into(), queue.clone()));
        env.push(("SQS_PREWARM".into(), prewarm.into()));
        let log = std::env::temp_dir().join(format!("e2e-prewarm-{prewarm}-{refuse}-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
        initialized(&api).await;
        let case = format!("SQS_PREWARM={prewarm}, refused: {refuse}");
        assert_eq!(proxy.requests(), requests_at_init, "{case}");
        assert_eq!(proxy.connections(), requests_at_init, "{case}");

        proxy.clear();
        let accepted = invoke(&api, &event).await;
        assert_eq!(accepted["statusCode"], 202, "{case}: {accepted}");
        assert_eq!(drain(&client, &queue).await.len(), 1, "{case}");
        assert_eq!(
            proxy.connections(),
            1,
            "{case}: the first request uses the connection opened at init, if any"
        );

        let logs = std::fs::read_to_string(&log).unwrap_or_default();
        let init: Value = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["fields"]["message"] == "initialized")
            .expect("an initialized line");
        assert_eq!(
            init["fields"]["prewarm_us"].is_u64(),
            prewarm == "true",
            "{case}: {init}"
        );
        assert_eq!(
            logs.contains("SQS_PREWARM"),
            refuse,
            "{case}: a refusal is logged, not fatal"
        );
    }
}

// Hostile bodies in the built binary, held to Lambda's 256 MB (memory
// cgroup) and 15 s: each hostile body gets a small 400, its request is kept,
// the function survives it and takes the next valid request.
#[tokio::test]
async fn hostile_bodies_stay_within_lambdas_memory_and_time() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-hostile", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-hostile-quarantine", false).await;
    let log = std::env::temp_dir().join(format!("e2e-hostile-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut env = aws_env(endpoint);
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
    let bomb = format!(
        "{{\"{}\":{{{}\"a\":1}}}}",
        "k".repeat(120_000),
        "\"a\":1,".repeat(22_000)
    );
    let controls: String = (0..256 * 1024).map(|i| char::from((i % 31 + 1) as u8)).collect();
    let many = format!("[{}1]", "1,".repeat(129_999));
    let mut peaks = Vec::new();
    for (name, body, content_type) in [
        ("artemis", bomb, "application/json"),
        ("artemis", controls, "application/json"),
        ("amlyze", many, "application/cloudevents-batch+json"),
    ] {
        let api = RuntimeApi::start().await.unwrap();
        let function = Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).unwrap();
        let call = Call::post("/hooks/x", body.clone()).header("content-type", content_type);
        let answer = invoke(&api, &call.event(FrontDoor::RestV1)).await;
        assert_eq!(answer["statusCode"], 400, "{name}");
        assert!(
            answer["body"].as_str().unwrap().len() < 64 * 1024,
            "a small problem document"
        );
        assert_eq!(function.out_of_memory_kills(), 0, "{name}: within 256 MB");
        if name == "artemis" {
            let valid = invoke(&api, &Call::post("/hooks/artemis", INSERT).event(FrontDoor::RestV1)).await;
            assert_eq!(valid["statusCode"], 202, "the function lives on");
        }
        peaks.extend(function.peak_memory());
    }
    println!("peak memory of the functions' cgroups: {peaks:?} bytes");
    assert_log_records_fit(&log);
    let kept: Vec<Value> = drain(&client, &quarantine).await.iter().map(|m| m.json()).collect();
    let summary: Vec<(Value, Value, usize)> = kept
        .iter()
        .map(|r| {
            (
                r["provider"].clone(),
                r["status"].clone(),
                r["body"].as_str().map_or(0, str::len),
            )
        })
        .collect();
    assert_eq!(kept.len(), 3, "every hostile request kept: {summary:?}");
    assert_eq!(drain(&client, &queue).await.len(), 2, "the valid request after each");
}

// Redrive from quarantine: a dry run changes nothing; --apply enqueues what
// now passes (original receivedtime and ids) and deletes only those records.
#[tokio::test]
async fn redrive_enqueues_what_now_passes_and_leaves_the_rest() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-redrive", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-redrive-quarantine", false).await;
    let log = std::env::temp_dir().join(format!("e2e-redrive-{}.log", std::process::id()));
    // The functions' queue does not exist: valid events get 503 and are quarantined.
    let missing = format!("{endpoint}/123456789012/e2e-redrive-missing");
    let mut env = aws_env(endpoint);
    env.push(("QUEUE_URL".into(), missing));
    env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
    env.push(("MAX_BODY_BYTES".into(), "2000".into()));
    let amlyze = Call::post("/hooks/amlyze", AMLYZE)
        .header("ce-id", "redrive-1")
        .header("ce-source", "customer")
        .header("ce-type", "com.amlyze.customer.updated")
        .header("ce-specversion", "1.0");
    for (name, calls, statuses) in [
        (
            "artemis",
            vec![
                Call::post("/hooks/artemis", INSERT).request_id("redrive-artemis-1"),
                Call::post("/hooks/artemis", "{\"customerId\": true}"),
                Call::post("/hooks/artemis", "x".repeat(3000)),
            ],
            vec![503, 400, 413],
        ),
        ("amlyze", vec![amlyze], vec![503]),
    ] {
        let api = RuntimeApi::start().await.unwrap();
        let _function = Function::spawn(&function_binary(name), &api, name, &env, Some(&log)).unwrap();
        for (call, status) in calls.iter().zip(statuses) {
            assert_eq!(
                invoke(&api, &call.event(FrontDoor::HttpV2)).await["statusCode"],
                status,
                "{name}"
            );
        }
    }
    let redrive = |apply: bool| {
        let mut command = tokio::process::Command::new(function_binary("redrive"));
        command
            .envs(aws_env(endpoint))
            .env("QUEUE_URL", &queue)
            .env("QUARANTINE_QUEUE_URL", &quarantine)
            .env("MAX_BODY_BYTES", "2000");
        if apply {
            command.arg("--apply");
        }
        command.output()
    };
    assert_log_records_fit(&log);
    let dry = redrive(false).await.unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{stdout}{}", String::from_utf8_lossy(&dry.stderr));
    assert!(stdout.contains("2 would enqueue"), "{stdout}");
    assert!(
        stdout.contains("1 left: invalid-event") && stdout.contains("1 left: payload-too-large"),
        "{stdout}"
    );
    assert!(drain(&client, &queue).await.is_empty(), "a dry run enqueues nothing");

    let before_redrive = time::OffsetDateTime::now_utc();
    let applied = redrive(true).await.unwrap();
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{stdout}");
    assert!(stdout.contains("2 enqueued"), "{stdout}");
    let queued: Vec<Value> = drain(&client, &queue).await.iter().map(|m| m.json()).collect();
    assert_eq!(queued.len(), 2);
    let kept: Vec<Value> = drain(&client, &quarantine).await.iter().map(|m| m.json()).collect();
    let reasons: Vec<&str> = kept.iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(kept.len(), 2, "only what passed was deleted: {reasons:?}");
    let artemis_event = queued.iter().find(|e| e["provider"] == "artemis").unwrap();
    let received = time::OffsetDateTime::parse(
        artemis_event["receivedtime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expected = intake::testing::artemis::parse(INSERT.as_bytes(), received, "redrive-artemis-1").unwrap();
    assert_eq!(
        artemis_event["id"],
        expected.events[0].id.as_str(),
        "the delivery's own id"
    );
    assert!(
        received < before_redrive,
        "the original reception time, not the redrive's"
    );
    assert!(queued.iter().any(|e| e["id"] == "redrive-1"));
}

// Before the handler: an event lambda_http cannot read was a runtime error
// (API Gateway: 502) and nothing was kept. Now: 500, the whole event kept.
#[tokio::test]
async fn an_unreadable_event_is_answered_500_and_kept_whole_by_the_binary() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-unreadable", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-unreadable-quarantine", false).await;
    let mut env = aws_env(endpoint);
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
    let api = RuntimeApi::start().await.unwrap();
    let _function = Function::spawn(&function_binary("amlyze"), &api, "amlyze", &env, None).unwrap();
    let mut event = Call::post("/hooks/amlyze", AMLYZE).event(FrontDoor::HttpV2);
    event["rawQueryString"] = Value::from("a=b c|d%");
    let answer = invoke(&api, &event).await;
    assert_eq!(answer["statusCode"], 500, "{answer}");
    let kept = drain(&client, &quarantine).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].json()["reason"], "unreadable-event");
    assert_eq!(
        kept[0].json()["body"],
        event.to_string(),
        "the whole event, as Lambda gave it"
    );
    assert!(drain(&client, &queue).await.is_empty());
}

// The emulator has Lambda's response limit: a runtime that posts more than
// 6 MB gets Lambda's refusal, and the caller API Gateway's 502.
#[tokio::test]
async fn the_emulator_refuses_a_response_over_six_mb_as_lambda_does() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let api = RuntimeApi::start().await.unwrap();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://{}/2018-06-01/runtime", api.addr);
    let invocation = {
        let api = api.clone();
        tokio::spawn(async move { api.invoke(b"{}", Duration::from_secs(10)).await })
    };
    // Play the function's side: take the invocation, answer too much.
    let next = client
        .get(format!("{base}/invocation/next").parse().unwrap())
        .await
        .unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = vec![b'x'; platform::sqs::MAX_RESPONSE_BYTES + 1];
    let request = hyper::Request::post(format!("{base}/invocation/{id}/response"))
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let refused = client.request(request).await.unwrap();
    assert_eq!(refused.status(), 413, "Lambda refuses the response");
    let _ = refused.into_body().collect().await;
    let outcome = invocation.await.unwrap().expect("an answer");
    let answer: Value = serde_json::from_slice(&outcome).unwrap();
    assert_eq!(answer["statusCode"], 502, "the caller gets API Gateway's 502");
}

// SHARED_SECRET_ARN in the built binary: the token is read from Secrets
// Manager (moto, through the same AWS_ENDPOINT_URL) at init, and logged as
// part of init's cost, never as a value.
#[tokio::test]
async fn the_binary_reads_its_token_from_secrets_manager_at_init() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-secret", false).await;
    let secrets = harness::secrets::client(endpoint).await;
    let token = "e2e-token-0123456789abcdef0123456789";
    let arn = harness::secrets::create(&secrets, "e2e-webhook-token", token).await;
    let api = RuntimeApi::start().await.unwrap();
    let mut env = aws_env(endpoint);
    env.push(("QUEUE_URL".into(), queue.clone()));
    env.push(("SHARED_SECRET_ARN".into(), arn));
    let log = std::env::temp_dir().join(format!("e2e-secret-{}.log", std::process::id()));
    let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();

    let refused = invoke(&api, &Call::post("/hooks/artemis", INSERT).event(FrontDoor::RestV1)).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    let call = Call::post("/hooks/artemis", INSERT).header("x-webhook-token", token);
    let accepted = invoke(&api, &call.event(FrontDoor::RestV1)).await;
    assert_eq!(accepted["statusCode"], 202, "{accepted}");
    assert_eq!(drain(&client, &queue).await.len(), 1);
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logs.contains(token), "the token is never logged");
    let init: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "initialized")
        .expect("an initialized line");
    assert!(init["fields"]["secret_us"].is_u64(), "{init}");
}

// Past SQS's 14 days: a request that could not be queued (503) was kept in
// quarantine and in the archive; `redrive --from-archive` runs it through
// the pipeline again with the same ids, a dry run first.
#[tokio::test]
async fn archived_quarantine_records_are_redriven_with_the_same_ids() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-from-archive", false).await;
    let quarantine = sqs::create_queue(&client, "e2e-from-archive-quarantine", false).await;
    let archive = harness::archive::LocalArchive::create(&Moto::shared().raw_endpoint).await;
    let mut env = aws_env(endpoint);
    // A queue SQS does not have: every valid event is a 503, kept.
    env.push(("QUEUE_URL".into(), format!("{queue}-missing")));
    env.push(("QUARANTINE_QUEUE_URL".into(), quarantine.clone()));
    env.push(("ARCHIVE_STREAM".into(), archive.stream.clone()));
    let api = RuntimeApi::start().await.unwrap();
    let _function = Function::spawn(&function_binary("amlyze"), &api, "amlyze", &env, None).unwrap();
    let amlyze = |id: &str| {
        Call::post("/hooks/amlyze", AMLYZE)
            .header("ce-id", id)
            .header("ce-source", "customer")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-specversion", "1.0")
    };
    let before = time::OffsetDateTime::now_utc();
    assert_eq!(
        invoke(&api, &amlyze("archived-1").event(FrontDoor::HttpV2)).await["statusCode"],
        503
    );
    let invalid = Call::post("/hooks/amlyze", "{\"customerExternalID\": 1}").header("ce-id", "x");
    assert_eq!(invoke(&api, &invalid.event(FrontDoor::HttpV2)).await["statusCode"], 400);
    let after = time::OffsetDateTime::now_utc() + Duration::from_secs(1);
    // SQS's copy is gone (as after 14 days); the archive's is not.
    assert_eq!(drain(&client, &quarantine).await.len(), 2);
    let file = std::env::temp_dir().join(format!("e2e-archive-{}.ndjson", std::process::id()));
    std::fs::write(&file, archive.text().await).unwrap();
    let window = |t: time::OffsetDateTime| platform::timestamp::format_utc(t);
    let run = |apply: bool| {
        let mut command = tokio::process::Command::new(function_binary("redrive"));
        command
            .args(["--from-archive", "--since", &window(before), "--until", &window(after)])
            .arg(&file)
            .envs(aws_env(endpoint))
            .env("QUEUE_URL", &queue)
            .env("QUARANTINE_QUEUE_URL", &quarantine);
        if apply {
            command.arg("--apply");
        }
        command.output()
    };
    let dry = run(false).await.unwrap();
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{dry_out}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(dry_out.contains("1 would enqueue"), "{dry_out}");
    assert!(dry_out.contains("1 left: invalid-event"), "{dry_out}");
    assert!(drain(&client, &queue).await.is_empty(), "a dry run enqueues nothing");
    let applied = run(true).await.unwrap();
    let out = String::from_utf8_lossy(&applied.stdout);
    assert!(out.contains("1 enqueued"), "{out}");
    let queued: Vec<Value> = drain(&client, &queue).await.iter().map(|m| m.json()).collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["id"], "archived-1", "the id the delivery had");
    // Outside the window: nothing.
    let mut command = tokio::process::Command::new(function_binary("redrive"));
    let early = window(before - Duration::from_secs(3600));
    command
        .args(["--from-archive", "--since", &early, "--until", &window(before)])
        .arg(&file)
        .envs(aws_env(endpoint))
        .env("QUEUE_URL", &queue);
    let none = command.output().await.unwrap();
    assert!(String::from_utf8_lossy(&none.stdout).contains("0 would enqueue"));
}

// One trust boundary per vendor, as the template configures it: each binary
// is given only its own vendor's secret (in Secrets Manager) and source
// ranges. One vendor's token, or a call from its ranges, is refused at the
// other vendor's door.
#[tokio::test]
async fn one_vendors_token_and_ranges_are_refused_at_the_other_vendors_door() {
    let endpoint = &Moto::shared().endpoint;
    let client = sqs::client(endpoint).await;
    let queue = sqs::create_queue(&client, "e2e-per-vendor", false).await;
    let secrets = harness::secrets::client(endpoint).await;
    let artemis_token = "artemis-token-0123456789abcdef01234567";
    let amlyze_token = "amlyze-token-0123456789abcdef012345678";
    let doors = [
        ("artemis", artemis_token, "203.0.113.0/24", "203.0.113.9"),
        ("amlyze", amlyze_token, "198.51.100.0/24", "198.51.100.7"),
    ];
    let amlyze_call = |ip: &str, token: &str| {
        Call::post("/hooks/amlyze", AMLYZE)
            .header("ce-id", &format!("per-vendor-{ip}-{}", &token[..6]))
            .header("ce-source", "customer")
            .header("ce-type", "com.amlyze.customer.updated")
            .header("ce-specversion", "1.0")
            .header("x-webhook-token", token)
            .from_ip(ip)
    };
    for (name, token, ranges, ip) in doors {
        let (other_token, other_ip) = doors
            .iter()
            .find(|door| door.0 != name)
            .map(|door| (door.1, door.3))
            .unwrap();
        let arn = harness::secrets::create(&secrets, &format!("e2e-{name}-token"), token).await;
        let api = RuntimeApi::start().await.unwrap();
        let mut env = aws_env(endpoint);
        env.retain(|(k, _)| k != "ALLOW_UNAUTHENTICATED");
        env.push(("QUEUE_URL".into(), queue.clone()));
        env.push(("SHARED_SECRET_ARN".into(), arn));
        env.push(("ALLOWED_SOURCE_CIDRS".into(), ranges.into()));
        let _function = Function::spawn(&function_binary(name), &api, name, &env, None).unwrap();
        let call = |ip: &str, token: &str| match name {
            "artemis" => Call::post("/hooks/artemis", INSERT)
                .header("x-webhook-token", token)
                .from_ip(ip),
            _ => amlyze_call(ip, token),
        };

        let answer = invoke(&api, &call(ip, other_token).event(FrontDoor::RestV1)).await;
        assert_eq!(answer["statusCode"], 401, "{name}: the other vendor's token: {answer}");
        let answer = invoke(&api, &call(other_ip, token).event(FrontDoor::RestV1)).await;
        assert_eq!(
            answer["statusCode"], 403,
            "{name}: from the other vendor's ranges: {answer}"
        );
        let answer = invoke(&api, &call(other_ip, other_token).event(FrontDoor::RestV1)).await;
        assert_eq!(answer["statusCode"], 403, "{name}: the other vendor, whole: {answer}");
        assert!(
            drain(&client, &queue).await.is_empty(),
            "{name}: nothing refused is queued"
        );

        let answer = invoke(&api, &call(ip, token).event(FrontDoor::RestV1)).await;
        assert_eq!(
            answer["statusCode"], 202,
            "{name}: its own token from its own ranges: {answer}"
        );
        assert_eq!(drain(&client, &queue).await.len(), 1, "{name}");
    }
}
