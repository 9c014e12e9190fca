//! The whole pipeline in process, with no SQS server: every fixture of
//! `events/` through the functions' own entry point ([`intake::invoke`],
//! the raw Lambda event in, the front door's response out), and each answer
//! of the contract, with in-memory queues that apply SQS's limits
//! ([`intake::testing`]). What only a real server shows is in `tests/`.

use lambda_http::{Context, LambdaEvent};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use intake::kept::QuarantineRecord;
use intake::testing::{MemoryArchive, MemoryQueues, Script};
use intake::{App, Config, Provider};

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
const QUARANTINE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/quarantine";
const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    file: String,
    function: String,
    status: u16,
    queued: usize,
    quarantined: usize,
}

fn app(provider: Provider, settings: &[(&str, &str)]) -> App<MemoryQueues, MemoryArchive> {
    let config = Config::from_lookup(provider, |var| {
        let given = settings.iter().find(|(k, _)| *k == var).map(|(_, v)| (*v).to_owned());
        given.or_else(|| match var {
            "QUEUE_URL" => Some(QUEUE.to_owned()),
            "QUARANTINE_QUEUE_URL" => Some(QUARANTINE.to_owned()),
            "ALLOW_UNAUTHENTICATED" => Some("true".to_owned()),
            _ => None,
        })
    })
    .expect("a valid configuration");
    App::with_queues(config, MemoryQueues::checked_by(schema_check))
}

/// Every body sent is checked against the JSON Schemas (`schemas/`), as in
/// `tests/`; a body that breaks them is refused like one SQS would refuse.
fn schema_check(queue: &str, message: &platform::sqs::Message) -> Result<(), String> {
    let validator = intake_queue::schema::Validator::get();
    let checked = if queue == QUARANTINE || queue == FALLBACK_QUARANTINE {
        validator.quarantine_record(&message.body)
    } else {
        validator.event(&message.body)
    };
    checked.map_err(|errors| format!("breaks the JSON Schema: {}", errors.join("; ")))
}

async fn invoke(app: &App<MemoryQueues, MemoryArchive>, event: &str) -> Value {
    let raw = RawValue::from_string(event.to_owned()).expect("JSON");
    intake::invoke(app, LambdaEvent::new(raw, Context::default())).await
}

/// An HTTP API 2.0 event.
fn event(method: &str, headers: Value, body: &str) -> String {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/hooks/x", "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "example.com", "domainPrefix": "example",
            "http": {"method": method, "path": "/hooks/x", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
        },
        "body": body, "isBase64Encoded": false
    })
    .to_string()
}

fn problem(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or_default()).expect("a problem document")
}

fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    answer["headers"][name].as_str()
}

fn kept(app: &App<MemoryQueues, MemoryArchive>) -> Vec<QuarantineRecord> {
    let queues = app.publisher.queues();
    assert_eq!(queues.violations(), Vec::<String>::new());
    queues
        .take(QUARANTINE)
        .iter()
        .map(|m| serde_json::from_str(&m.body).expect("a quarantine record"))
        .collect()
}

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");

fn amlyze_headers() -> Value {
    json!({
        "content-type": "application/json", "ce-id": "evt-1", "ce-source": "customer",
        "ce-type": "com.amlyze.customer.updated", "ce-specversion": "1.0"
    })
}

#[tokio::test]
async fn every_fixture_has_the_outcome_its_manifest_records() {
    let manifest = std::fs::read_to_string(format!("{EVENTS}/manifest.json")).unwrap();
    let fixtures: Vec<Fixture> = serde_json::from_str(&manifest).unwrap();
    assert!(fixtures.len() >= 20);
    for fixture in fixtures {
        let provider = Provider::from_name(&fixture.function).expect("a vendor's function");
        let app = app(provider, &[]);
        let event = std::fs::read_to_string(format!("{EVENTS}/{}", fixture.file)).unwrap();
        let answer = invoke(&app, &event).await;
        let queued = app.publisher.queues().take(QUEUE);
        let got = (answer["statusCode"].as_u64(), queued.len(), kept(&app).len());
        let expected = (Some(u64::from(fixture.status)), fixture.queued, fixture.quarantined);
        assert_eq!(got, expected, "{}: {answer}", fixture.file);
        for message in queued {
            let event: Value = serde_json::from_str(&message.body).unwrap();
            assert_eq!(event["provider"], fixture.function, "{}", fixture.file);
        }
    }
}

#[tokio::test]
async fn accepted_is_202_with_the_id_and_sqs_message_id_and_batches_list_their_ids() {
    let app = app(Provider::Artemis, &[]);
    let answer = invoke(
        &app,
        &event("POST", json!({"content-type": "application/json"}), INSERT),
    )
    .await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let queued = app.publisher.queues().take(QUEUE);
    let queued: Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(body["id"], queued["id"]);
    assert!(body["messageId"].is_string());

    let app = self::app(Provider::Amlyze, &[]);
    let data: Value = serde_json::from_str(AMLYZE).unwrap();
    let batch: Vec<Value> = (0..3)
        .map(|i| json!({"specversion": "1.0", "id": format!("e{i}"), "source": "s", "type": "t", "data": data}))
        .collect();
    let headers = json!({"content-type": "application/cloudevents-batch+json"});
    let answer = invoke(&app, &event("POST", headers, &json!(batch).to_string())).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"ids": ["e0", "e1", "e2"]}));
    assert_eq!(app.publisher.queues().take(QUEUE).len(), 3);
}

#[tokio::test]
async fn each_vendor_answers_a_wrong_method_with_405_and_its_allow_list() {
    for (provider, allow) in [
        (Provider::Artemis, "POST, PUT, PATCH"),
        (Provider::Amlyze, "POST, OPTIONS"),
    ] {
        let app = app(provider, &[]);
        let answer = invoke(&app, &event("DELETE", json!({}), "")).await;
        assert_eq!(answer["statusCode"], 405, "{answer}");
        assert_eq!(header(&answer, "allow"), Some(allow));
        assert!(kept(&app).is_empty(), "nothing to keep");
    }
}

#[tokio::test]
async fn only_a_vendor_with_the_preflight_answers_options() {
    let preflight = event("OPTIONS", json!({"webhook-request-origin": "amlyze.example"}), "");
    let app = app(Provider::Amlyze, &[("WEBHOOK_ALLOWED_RATE", "120")]);
    let answer = invoke(&app, &preflight).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(header(&answer, "webhook-allowed-origin"), Some("amlyze.example"));
    assert_eq!(header(&answer, "webhook-allowed-rate"), Some("120"));
    assert_eq!(header(&answer, "allow"), Some("POST, OPTIONS"));
    let app = self::app(Provider::Artemis, &[]);
    assert_eq!(invoke(&app, &preflight).await["statusCode"], 405);
}

#[tokio::test]
async fn refusals_are_problem_json_and_what_must_not_be_lost_is_kept() {
    let json = json!({"content-type": "application/json"});
    let cases = [
        // (settings, event, status, reason, kept)
        (
            vec![("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24")],
            event("POST", json.clone(), INSERT),
            403,
            "forbidden-source",
            false,
        ),
        (
            vec![("SHARED_SECRET", "s3cret")],
            event("POST", json.clone(), INSERT),
            401,
            "unauthorized",
            false,
        ),
        (
            vec![("MAX_BODY_BYTES", "100")],
            event("POST", json.clone(), INSERT),
            413,
            "payload-too-large",
            true,
        ),
        (
            vec![],
            event("POST", json!({"content-type": "text/plain"}), INSERT),
            415,
            "unsupported-media-type",
            true,
        ),
        (
            vec![],
            event("POST", json.clone(), "{\"customerId\": \"x\"}"),
            400,
            "invalid-event",
            true,
        ),
    ];
    for (settings, event, status, reason, keeps) in cases {
        let app = app(Provider::Artemis, &settings);
        let answer = invoke(&app, &event).await;
        assert_eq!(answer["statusCode"], status, "{reason}: {answer}");
        assert_eq!(header(&answer, "content-type"), Some("application/problem+json"));
        let problem = problem(&answer);
        assert_eq!(problem["type"], format!("urn:webhook-intake:problem:{reason}"));
        assert_eq!(problem["status"], status);
        let kept = kept(&app);
        assert_eq!(kept.len(), usize::from(keeps), "{reason}");
        if let Some(record) = kept.first() {
            assert_eq!(record.reason, reason);
            let sent: Value = serde_json::from_str(&event).unwrap();
            let body = sent["body"].as_str().unwrap().as_bytes();
            let limit = if status == 413 {
                body.len().min(record.body_bytes().unwrap().len())
            } else {
                body.len()
            };
            assert_eq!(record.body_bytes().unwrap(), &body[..limit], "{reason}: kept verbatim");
        }
        assert!(app.publisher.queues().take(QUEUE).is_empty(), "{reason}");
    }
}

#[tokio::test]
async fn invalid_amlyze_events_list_every_problem() {
    let app = app(Provider::Amlyze, &[]);
    let mut headers = amlyze_headers();
    headers["ce-specversion"] = json!("0.3");
    let answer = invoke(&app, &event("POST", headers, r#"{"customerExternalID": "", "pep": 1}"#)).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let fields: Vec<Value> = problem(&answer)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [json!("Ce-Specversion"), json!("customerExternalID"), json!("pep")]
    );
    assert_eq!(kept(&app).len(), 1);
}

#[tokio::test]
async fn a_queue_that_refuses_is_a_503_and_the_request_is_kept() {
    let app = app(Provider::Amlyze, &[]);
    app.publisher.queues().then(Script::FailCall);
    let answer = invoke(&app, &event("POST", amlyze_headers(), AMLYZE)).await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert_eq!(problem(&answer)["type"], "urn:webhook-intake:problem:queue-unavailable");
    let kept = kept(&app);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].body_bytes().unwrap(), AMLYZE.as_bytes());
    assert!(app.publisher.queues().take(QUEUE).is_empty());
}

#[tokio::test]
async fn the_preflight_is_answered_only_after_the_secret_is_checked() {
    let app = app(Provider::Amlyze, &[("SHARED_SECRET", "s3cret")]);
    let origin = json!({"webhook-request-origin": "amlyze.example"});
    let answer = invoke(&app, &event("OPTIONS", origin.clone(), "")).await;
    assert_eq!(answer["statusCode"], 401, "no token, no handshake: {answer}");
    assert!(header(&answer, "webhook-allowed-origin").is_none());
    let mut with_token = origin;
    with_token["x-webhook-token"] = json!("s3cret");
    let answer = invoke(&app, &event("OPTIONS", with_token, "")).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(header(&answer, "webhook-allowed-origin"), Some("amlyze.example"));
}

// The archive (contract, "The archive"), on an in-memory archive with
// Firehose's limits.

const STREAM: (&str, &str) = ("ARCHIVE_STREAM", "intake-archive");

/// The archive's messages, parts joined; fails on any breach of Firehose's limits.
fn archived(app: &App<MemoryQueues, MemoryArchive>) -> Vec<intake::kept::ArchivedMessage> {
    let archive = app.archiver.as_ref().expect("ARCHIVE_STREAM is set").archive();
    assert_eq!(archive.violations(), Vec::<String>::new());
    let records = archive.records();
    let lines: Vec<&str> = records.iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
    assert!(
        lines.iter().all(|l| l.ends_with('\n') && l.matches('\n').count() == 1),
        "NDJSON"
    );
    let (messages, unreadable) = intake::kept::join_parts(lines);
    assert_eq!(unreadable, 0);
    messages
}

#[tokio::test]
async fn every_kept_message_of_every_fixture_is_archived_once_byte_for_byte() {
    let manifest = std::fs::read_to_string(format!("{EVENTS}/manifest.json")).unwrap();
    let fixtures: Vec<Fixture> = serde_json::from_str(&manifest).unwrap();
    for fixture in fixtures {
        let provider = Provider::from_name(&fixture.function).expect("a vendor's function");
        let app = app(provider, &[STREAM]);
        let event = std::fs::read_to_string(format!("{EVENTS}/{}", fixture.file)).unwrap();
        invoke(&app, &event).await;
        let queues = app.publisher.queues();
        let mut kept: Vec<(String, String)> = queues
            .messages(QUEUE)
            .into_iter()
            .map(|m| ("event".to_owned(), m.body))
            .chain(
                queues
                    .messages(QUARANTINE)
                    .into_iter()
                    .map(|m| ("quarantine".to_owned(), m.body)),
            )
            .collect();
        let mut got: Vec<(String, String)> = archived(&app).into_iter().map(|m| (m.kind, m.message)).collect();
        kept.sort();
        got.sort();
        assert!(kept == got, "{}: the archive holds exactly what SQS took", fixture.file);
    }
}

#[tokio::test]
async fn records_the_archive_refuses_one_by_one_are_sent_again() {
    let app = app(Provider::Amlyze, &[STREAM]);
    let archive = app.archiver.as_ref().unwrap().archive();
    archive.then(Script::FailEntry(1));
    let data: Value = serde_json::from_str(AMLYZE).unwrap();
    let batch: Vec<Value> = (0..3)
        .map(|i| json!({"specversion": "1.0", "id": format!("e{i}"), "source": "s", "type": "t", "data": data}))
        .collect();
    let headers = json!({"content-type": "application/cloudevents-batch+json"});
    let answer = invoke(&app, &event("POST", headers, &json!(batch).to_string())).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    assert_eq!(archive.calls(), 2, "one call, then one for the failed record");
    let ids: Vec<String> = archived(&app)
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.message).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ["e0", "e1", "e2"], "each once");
}

#[tokio::test]
async fn with_the_archive_down_every_answer_is_unchanged() {
    let json = json!({"content-type": "application/json"});
    for (body, status) in [(INSERT, 202), ("{\"customerId\": true}", 400)] {
        let app = app(Provider::Artemis, &[STREAM]);
        app.archiver.as_ref().unwrap().archive().set_down(true);
        let answer = invoke(&app, &event("POST", json.clone(), body)).await;
        assert_eq!(answer["statusCode"], status, "{answer}");
        let queues = app.publisher.queues();
        assert_eq!(queues.messages(QUEUE).len() + queues.messages(QUARANTINE).len(), 1);
        assert!(archived(&app).is_empty());
    }
}

#[tokio::test]
async fn a_message_too_large_for_one_firehose_record_is_archived_in_parts() {
    // 171,000 control characters: the quarantine record escapes each to six
    // bytes, just under SQS's 1 MiB and over Firehose's 1,000 KiB per record.
    let app = app(Provider::Artemis, &[STREAM]);
    let body = "\u{1}".repeat(171_000);
    let answer = invoke(&app, &event("POST", json!({"content-type": "application/json"}), &body)).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let kept = app.publisher.queues().messages(QUARANTINE);
    assert_eq!(kept.len(), 1);
    assert!(
        kept[0].body.len() > intake::kept::MAX_RECORD_BYTES,
        "{}",
        kept[0].body.len()
    );
    let records = app.archiver.as_ref().unwrap().archive().records();
    assert!(records.len() > 1, "in parts");
    let got = archived(&app);
    assert_eq!(got.len(), 1);
    assert!(got[0].message == kept[0].body, "joined again, byte for byte");
    assert_eq!(got[0].kind, "quarantine");
}

/// The template makes a FIFO events queue in high-throughput mode, where SQS
/// deduplicates within a message group (`DeduplicationScope: messageGroup`;
/// the in-memory queues do the same). The group is the vendor and the
/// customer, the deduplication id the source and event id: what SQS drops is
/// still exactly what the contract says, a copy of the same delivery, and
/// never a later change, another delivery or another customer's event.
#[tokio::test]
async fn on_a_high_throughput_fifo_queue_only_copies_of_one_delivery_are_dropped() {
    const FIFO: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo";
    let delivery = |request_id: &str, headers: Value, body: &str| {
        let mut event: Value = serde_json::from_str(&event("POST", headers, body)).unwrap();
        event["requestContext"]["requestId"] = json!(request_id);
        event.to_string()
    };
    let artemis = app(Provider::Artemis, &[("QUEUE_URL", FIFO)]);
    let amlyze = app(Provider::Amlyze, &[("QUEUE_URL", FIFO)]);
    let json_type = json!({"content-type": "application/json"});
    let update = INSERT.replace("\"INSERT\"", "\"UPDATE\"");
    let artemis_sends = [
        ("req-a", INSERT.to_owned(), true, "the first delivery"),
        (
            "req-a",
            INSERT.to_owned(),
            false,
            "the same request again (our retry, a recover replay)",
        ),
        (
            "req-b",
            INSERT.to_owned(),
            true,
            "Artemis sends an equal body again: a new delivery",
        ),
        ("req-c", update.replace("\"PENDING\"", "\"CLEARED\""), true, "a change"),
        ("req-d", update.clone(), true, "back to an earlier state"),
    ];
    let mut expected = 0;
    for (request_id, body, kept, what) in artemis_sends {
        let answer = invoke(&artemis, &delivery(request_id, json_type.clone(), &body)).await;
        assert_eq!(answer["statusCode"], 202, "{what}: {answer}");
        expected += usize::from(kept);
        assert_eq!(artemis.publisher.queues().messages(FIFO).len(), expected, "{what}");
    }
    let other_customer = AMLYZE.replace("82deaa92-d559-40bd-96b7-053341a08e28", "another-customer");
    let amlyze_sends = [
        ("evt-1", "customer", AMLYZE.to_owned(), true, "the first delivery"),
        (
            "evt-1",
            "customer",
            AMLYZE.to_owned(),
            false,
            "Amlyze delivers the same Ce-Id again",
        ),
        (
            "evt-2",
            "customer",
            AMLYZE.to_owned(),
            true,
            "a new event of the same customer",
        ),
        (
            "evt-1",
            "elsewhere",
            AMLYZE.to_owned(),
            true,
            "the same id from another source",
        ),
        (
            "evt-1",
            "customer",
            other_customer,
            true,
            "the same id for another customer (another group)",
        ),
    ];
    let mut expected = 0;
    for (ce_id, source, body, kept, what) in amlyze_sends {
        let mut headers = amlyze_headers();
        headers["ce-id"] = json!(ce_id);
        headers["ce-source"] = json!(source);
        let answer = invoke(&amlyze, &delivery("req-x", headers, &body)).await;
        assert_eq!(answer["statusCode"], 202, "{what}: {answer}");
        expected += usize::from(kept);
        assert_eq!(amlyze.publisher.queues().messages(FIFO).len(), expected, "{what}");
    }
    for message in amlyze.publisher.queues().messages(FIFO) {
        let event: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(
            message.group_id.as_deref(),
            Some(format!("amlyze:{}", event["subject"].as_str().unwrap()).as_str()),
            "the group is the vendor and the customer"
        );
    }
}

// A sick region (contract, "A sick region"): a fallback queue in another
// region, the breaker, the health route.

const FALLBACK: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/events";
const FALLBACK_QUARANTINE: &str = "https://sqs.eu-central-1.amazonaws.com/123456789012/quarantine";
const WITH_FALLBACK: [(&str, &str); 2] = [
    ("FALLBACK_QUEUE_URL", FALLBACK),
    ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
];

/// An HTTP API 2.0 `GET` of `path` from `source`.
fn get(path: &str, source: &str) -> String {
    let mut event: Value = serde_json::from_str(&event("GET", json!({}), "")).unwrap();
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["sourceIp"] = json!(source);
    event.to_string()
}

#[tokio::test]
async fn a_failing_events_queue_spills_to_the_fallback_and_the_answer_is_a_202_with_the_same_event() {
    let app = app(Provider::Amlyze, &WITH_FALLBACK);
    assert_eq!(
        app.config.fallback.as_ref().map(|f| f.region.as_str()),
        Some("eu-central-1"),
        "the region is read from the URL"
    );
    app.publisher.queues().set_down(QUEUE, true);
    let answer = invoke(&app, &event("POST", amlyze_headers(), AMLYZE)).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let id = serde_json::from_str::<Value>(answer["body"].as_str().unwrap()).unwrap()["id"].clone();
    let spilled = app.publisher.queues().take(FALLBACK);
    assert_eq!(spilled.len(), 1);
    let event: Value = serde_json::from_str(&spilled[0].body).unwrap();
    assert_eq!(event["id"], id);
    assert!(app.publisher.queues().take(QUEUE).is_empty());
    assert!(kept(&app).is_empty(), "a 202 keeps nothing in quarantine");
}

#[tokio::test]
async fn a_failing_quarantine_queue_spills_the_record_to_the_fallback_quarantine() {
    let app = app(Provider::Amlyze, &WITH_FALLBACK);
    app.publisher.queues().set_down(QUARANTINE, true);
    let answer = invoke(&app, &event("POST", amlyze_headers(), "{\"pep\": \"maybe\"}")).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let kept = app.publisher.queues().take(FALLBACK_QUARANTINE);
    assert_eq!(kept.len(), 1);
    let record: QuarantineRecord = serde_json::from_str(&kept[0].body).unwrap();
    assert_eq!(record.body_bytes().unwrap(), b"{\"pep\": \"maybe\"}");
}

#[tokio::test]
async fn the_health_route_answers_before_the_door_and_turns_503_once_the_queue_is_skipped() {
    let narrow = [
        ("HEALTH_CHECK", "true"),
        ("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24"),
        ("SHARED_SECRET", "s3cret"),
    ];
    let app = app(Provider::Artemis, &narrow);
    // A health checker is outside the vendor's ranges and has no token.
    let answer = invoke(&app, &get("/prod/health/artemis", "203.0.113.7")).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], json!({"status": "healthy"}).to_string());
    // The callback route is still closed to it.
    let refused = invoke(&app, &get("/prod/hooks/artemis", "203.0.113.7")).await;
    assert_eq!(refused["statusCode"], 403, "{refused}");
    // The events queue fails twice in a row: its breaker opens, and the
    // health route says so at once (not after its cached answer expires).
    app.publisher.queues().set_down(QUEUE, true);
    let mut inside = serde_json::from_str::<Value>(&event("POST", json!({"x-webhook-token": "s3cret"}), "{}")).unwrap();
    inside["requestContext"]["http"]["sourceIp"] = json!("198.51.100.1");
    for _ in 0..2 {
        let failed = invoke(&app, &inside.to_string()).await;
        assert_ne!(failed["statusCode"], 202, "{failed}");
    }
    let insert = include_str!("../../events/bodies/artemis-insert.json");
    inside["body"] = json!(insert);
    inside["headers"]["content-type"] = json!("application/json");
    for _ in 0..2 {
        assert_eq!(invoke(&app, &inside.to_string()).await["statusCode"], 503);
    }
    let answer = invoke(&app, &get("/prod/health/artemis", "203.0.113.7")).await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert_eq!(answer["body"], json!({"status": "unhealthy"}).to_string());
    assert!(
        kept(&app).iter().all(|record| record.method == "POST"),
        "a health check is never kept"
    );
    // The queue is back and no callback comes (DNS moved them away): after
    // the cool-off the health check itself probes, and the region is
    // healthy again.
    app.publisher.queues().set_down(QUEUE, false);
    tokio::time::sleep(intake::testing::COOL_OFF).await;
    let answer = invoke(&app, &get("/prod/health/artemis", "203.0.113.7")).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let accepted = invoke(&app, &inside.to_string()).await;
    assert_eq!(accepted["statusCode"], 202, "the breaker is closed again: {accepted}");
}

#[tokio::test]
async fn without_health_check_a_get_of_health_is_an_ordinary_request() {
    let app = app(
        Provider::Artemis,
        &[("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24"), ("SHARED_SECRET", "s")],
    );
    let answer = invoke(&app, &get("/health", "203.0.113.7")).await;
    assert_eq!(answer["statusCode"], 403, "{answer}");
}

#[tokio::test]
async fn when_both_regions_fail_the_answer_is_a_503_and_the_request_is_kept() {
    let app = app(Provider::Amlyze, &WITH_FALLBACK);
    app.publisher.queues().set_down(QUEUE, true);
    app.publisher.queues().set_down(FALLBACK, true);
    let answer = invoke(&app, &event("POST", amlyze_headers(), AMLYZE)).await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let kept = kept(&app);
    assert_eq!(kept.len(), 1, "kept in this region's quarantine");
    assert_eq!(kept[0].body_bytes().unwrap(), AMLYZE.as_bytes());
    assert!(app.publisher.queues().take(QUEUE).is_empty());
    assert!(app.publisher.queues().take(FALLBACK).is_empty());
}
