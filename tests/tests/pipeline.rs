//! The invariant of "Nothing is lost", over the whole pipeline: arbitrary
//! method, front door, configuration, headers (every `Ce-*` attribute, with
//! arbitrary and with valid-but-extreme values) and bodies up to the limit,
//! through `intake::invoke` (the functions' entry point) with in-memory queues that apply SQS's limits.
//!
//! For every request: no panic, a response under Lambda's 6 MB, no message
//! SQS would refuse, and
//! - 2xx: every event of the request is on the queue, nothing in quarantine;
//! - 400, 413, 415, 500, 503 (and 401 behind an allowlist): the exact request
//!   is in quarantine, nothing on the queue;
//! - 403, 405, the preflight, 401 without an allowlist: nothing kept.

use harness::invariant::{app, check, Setup, QUARANTINE, QUEUE};
use harness::{Call, FrontDoor};
use intake::kept::QuarantineRecord;
use intake::testing::Script;
use intake::Provider;
use proptest::prelude::*;
use serde_json::{json, Value};
const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");

/// Valid but extreme strings: control characters, noncharacters, long ones.
fn extreme_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,20}",
        Just("\u{0}\u{1f}\u{7f}\u{fffe}\u{ffff}\u{d7ff}\u{e000}".to_owned()),
        (1usize..40_000).prop_map(|n| "é\u{1}\"\\".repeat(n / 4)),
        Just(String::new()),
    ]
}

fn extreme_time() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9999-12-31T23:59:59-05:00".to_owned()),
        Just("0000-01-01T00:00:00+23:59".to_owned()),
        Just("2026-03-10t12:53:45.123456789123z".to_owned()),
        Just("1970-01-01T00:00:00Z".to_owned()),
        ".{0,30}",
    ]
}

/// A `Ce-*` header value: percent-encoded arbitrary text (the binding's form),
/// or as is. HTTP has no control characters in header values (API Gateway
/// refuses such a request before Lambda), so none are sent raw; and a front
/// door takes some kilobytes of headers (API Gateway: 10 KB in all), so a
/// value stays under 2.1 KB. (With a megabyte of headers a request's record
/// no longer fits one SQS message and goes to the logs, as the contract says:
/// out of this in-memory check's sight.)
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        extreme_text().prop_map(|t| {
            let t = platform::sqs::truncate(&t, 700);
            t.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
        }),
        "[ -~]{0,40}",
        extreme_time(),
        Just("com.amlyze.customer.updated".to_owned()),
        Just("1.0".to_owned()),
    ]
    .prop_map(|value| value.chars().filter(|c| !c.is_control() || *c == '\t').collect())
}

fn artemis_body() -> impl Strategy<Value = Vec<u8>> {
    (
        extreme_text(),
        any::<u64>(),
        prop::sample::select(vec!["PENDING", "CLEARED", "ON_HOLD", ""]),
        any::<bool>(),
    )
        .prop_map(|(text, id, status, number_form)| {
            let mut body: Value = serde_json::from_str(INSERT).unwrap();
            body["customerReferenceId"] = json!(text);
            body["customerId"] = if number_form { json!(id) } else { json!(1e300) };
            body["status"] = json!(status);
            body["extra"] = json!([1e15, -0.0, 1.5e-300, text]);
            body.to_string().into_bytes()
        })
}

fn amlyze_data() -> impl Strategy<Value = Value> {
    (extreme_text(), extreme_time(), any::<Option<bool>>()).prop_map(|(id, time, flag)| {
        let mut data: Value = serde_json::from_str(AMLYZE).unwrap();
        data["customerExternalID"] = json!(id);
        data["updateAt"] = json!(time);
        data["sanctioned"] = json!(flag);
        data
    })
}

fn structured_event() -> impl Strategy<Value = Value> {
    (amlyze_data(), extreme_text(), extreme_time(), "[a-z0-9]{1,8}").prop_map(|(data, id, time, extension)| {
        json!({"specversion": "1.0", "id": id, "source": "customer", "type": "com.amlyze.customer.updated",
               "time": time, "data": data, extension: "x"})
    })
}

fn body() -> impl Strategy<Value = (Vec<u8>, Option<&'static str>)> {
    prop_oneof![
        artemis_body().prop_map(|b| (b, Some("application/json"))),
        amlyze_data().prop_map(|d| (d.to_string().into_bytes(), Some("application/json"))),
        structured_event().prop_map(|e| (e.to_string().into_bytes(), Some("application/cloudevents+json"))),
        prop::collection::vec(structured_event(), 0..30).prop_map(|events| (
            json!(events).to_string().into_bytes(),
            Some("application/cloudevents-batch+json")
        )),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(|b| (b, None)),
        (1usize..8).prop_map(|n| (
            format!("[{}1]", "1,".repeat(n * 16_000)).into_bytes(),
            Some("application/cloudevents-batch+json")
        )),
        prop::sample::select(vec![Some("text/plain"), Some("application/json; charset=utf-8"), None])
            .prop_map(|t| (b"{\"customerId\":1}".to_vec(), t)),
    ]
}

fn request() -> impl Strategy<Value = (Setup, Call, FrontDoor)> {
    let setup = (
        prop::sample::select(vec![Provider::Artemis, Provider::Amlyze]),
        any::<bool>(),
        prop::sample::select(vec![None, Some("203.0.113.0/24"), Some("198.51.100.0/24")]),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(provider, fifo, allowlist, secret, sick_region)| Setup {
            provider,
            fifo,
            allowlist,
            secret,
            sick_region,
        });
    let ce_headers = prop::collection::vec(
        (
            prop::sample::select(vec![
                "ce-id",
                "ce-source",
                "ce-type",
                "ce-specversion",
                "ce-subject",
                "ce-time",
                "ce-traceparent",
                "ce-Bad_Name",
            ]),
            header_value(),
        ),
        0..8,
    );
    (
        setup,
        prop::sample::select(vec!["POST", "PUT", "PATCH", "GET", "OPTIONS", "DELETE"]),
        prop::sample::select(FrontDoor::ALL.to_vec()),
        body(),
        ce_headers,
        prop::sample::select(vec![None, Some("s3cret-token"), Some("wrong")]),
        any::<bool>(),
    )
        .prop_map(|(setup, method, door, (body, content_type), ce, token, preflight)| {
            let mut call = Call::post("/hooks/x", body).method(method);
            call.headers.clear();
            if let Some(content_type) = content_type {
                call = call.header("content-type", content_type);
            }
            for (name, value) in ce {
                call = call.header(name, &value);
            }
            if let Some(token) = token {
                call = call.header("x-webhook-token", token);
            }
            if preflight {
                call = call.header("webhook-request-origin", "eventemitter.amlyze.com");
            }
            (setup, call, door)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost_whatever_comes_in((setup, call, door) in request()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(&setup, &call, door)).map_err(TestCaseError::fail)?;
    }
}

fn setup(provider: Provider) -> Setup {
    Setup {
        provider,
        fifo: false,
        allowlist: None,
        secret: false,
        sick_region: false,
    }
}

#[tokio::test]
async fn a_panic_in_the_pipeline_is_a_500_and_the_request_is_kept() {
    let app = app(&setup(Provider::Artemis));
    app.publisher.queues().then(Script::Panic);
    let call = Call::post("/hooks/artemis", INSERT);
    let response = harness::invoke(&app, &call.event(FrontDoor::RestV1).to_string()).await;
    assert_eq!(response.status(), 500);
    let problem: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(problem["type"], "urn:webhook-intake:problem:internal-error");
    assert!(
        !problem.to_string().contains("scripted"),
        "the panic's text stays inside: {problem}"
    );
    let kept = app.publisher.queues().take(QUARANTINE);
    assert_eq!(kept.len(), 1);
    let record: QuarantineRecord = serde_json::from_str(&kept[0].body).unwrap();
    assert_eq!(record.reason, "internal-error");
    assert_eq!(record.body, INSERT);
    assert!(
        record.errors[0].message.contains("scripted panic"),
        "{:?}",
        record.errors
    );
}

#[tokio::test]
async fn failed_batch_entries_are_sent_again_and_a_failing_call_is_a_503_kept() {
    let app = app(&setup(Provider::Amlyze));
    let queues = app.publisher.queues();
    let events: Vec<Value> = (0..12)
        .map(|i| json!({"specversion": "1.0", "id": format!("e{i}"), "source": "s", "type": "other"}))
        .collect();
    let call = Call::post("/hooks/amlyze", json!(events).to_string())
        .header("content-type", "application/cloudevents-batch+json");
    queues.then(Script::FailEntry(3));
    let response = harness::invoke(&app, &call.event(FrontDoor::HttpV2).to_string()).await;
    assert_eq!(response.status(), 202);
    assert_eq!(queues.calls(), 3, "10 + 2 entries, then the failed one again");
    let ids: Vec<String> = queues
        .take(QUEUE)
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 12);
    assert!(ids.contains(&"e3".to_owned()));

    // A call that fails whole (after the SDK's own retries) ends the attempt.
    queues.then(Script::FailCall);
    let response = harness::invoke(&app, &call.event(FrontDoor::HttpV2).to_string()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(queues.take(QUARANTINE).len(), 1, "kept for a redrive");
}

// The entry point before the handler: an event lambda_http cannot read, or
// whose conversion panics (an HTTP API rawQueryString that is not
// percent-encoded), was a runtime error (API Gateway: 502) with nothing kept.
#[tokio::test]
async fn an_event_no_front_door_format_reads_is_a_500_with_the_whole_event_kept() {
    use lambda_http::{Context, LambdaEvent};
    use serde_json::value::RawValue;
    let app = app(&setup(Provider::Amlyze));
    let mut unencoded = Call::post("/hooks/amlyze", AMLYZE).event(FrontDoor::HttpV2);
    unencoded["rawQueryString"] = json!("a=b c|d%");
    let mut control = Call::post("/hooks/amlyze", AMLYZE).event(FrontDoor::RestV1);
    control["headers"]["ce-id"] = json!("a\u{1}b");
    for event in [unencoded, control, json!({"hello": "world"})] {
        let raw = RawValue::from_string(event.to_string()).unwrap();
        let answer = intake::invoke(&app, LambdaEvent::new(raw, Context::default())).await;
        assert_eq!(answer["statusCode"], 500, "{answer}");
        let problem: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(problem["type"], "urn:webhook-intake:problem:unreadable-event");
        let kept = app.publisher.queues().take(QUARANTINE);
        assert_eq!(kept.len(), 1);
        let record: QuarantineRecord = serde_json::from_str(&kept[0].body).unwrap();
        assert_eq!(record.reason, "unreadable-event");
        assert!(
            record.body_bytes().unwrap() == event.to_string().into_bytes(),
            "the whole event, exactly"
        );
    }
    // Kept for years in the archive: an unreadable event's credentials are
    // redacted wherever the front door put them, in quarantine and archive.
    let mut leaky = Call::post("/hooks/amlyze", AMLYZE)
        .header("x-webhook-token", "leak-header")
        .event(FrontDoor::HttpV2);
    leaky["rawQueryString"] = json!("a=b c|d%&token=leak-query");
    leaky["cookies"] = json!(["session=leak-cookie"]);
    let raw = RawValue::from_string(leaky.to_string()).unwrap();
    let answer = intake::invoke(&app, LambdaEvent::new(raw, Context::default())).await;
    assert_eq!(answer["statusCode"], 500, "{answer}");
    let kept = app.publisher.queues().take(QUARANTINE);
    assert_eq!(kept.len(), 1);
    let record: QuarantineRecord = serde_json::from_str(&kept[0].body).unwrap();
    let body = String::from_utf8(record.body_bytes().unwrap()).unwrap();
    assert!(!body.contains("leak-"), "{body}");
    let archived = app.archiver.as_ref().unwrap().archive().records();
    assert!(!archived.is_empty());
    assert!(archived.iter().all(|r| !String::from_utf8_lossy(r).contains("leak-")));

    // A readable event goes through the same entry point as before.
    let event = Call::post("/hooks/amlyze", "{}").method("GET").event(FrontDoor::Alb);
    let raw = RawValue::from_string(event.to_string()).unwrap();
    let answer = intake::invoke(&app, LambdaEvent::new(raw, Context::default())).await;
    assert_eq!(answer["statusCode"], 405, "{answer}");
}

// An unreadable event is kept only when what can be read of its
// sender passes the checks a readable request would: a source in the
// allowlist and an accepted token, read where each front door puts them.
#[tokio::test]
async fn an_unreadable_event_is_kept_only_from_an_established_sender() {
    use harness::invariant::SECRET;
    use lambda_http::{Context, LambdaEvent};
    use serde_json::value::RawValue;
    let guarded = Setup {
        allowlist: Some("203.0.113.0/24"),
        secret: true,
        ..setup(Provider::Amlyze)
    };
    let app = app(&guarded);
    let unreadable = |call: Call, door: FrontDoor| {
        let mut event = call.event(door);
        event["rawQueryString"] = json!("a=b c|d%");
        event
    };
    let cases = [
        (
            "the vendor, token in the header",
            unreadable(
                Call::post("/hooks/amlyze", AMLYZE).header("x-webhook-token", SECRET),
                FrontDoor::HttpV2,
            ),
            true,
        ),
        (
            "the vendor, token in the raw query",
            {
                let mut event = unreadable(Call::post("/hooks/amlyze", AMLYZE), FrontDoor::FunctionUrl);
                event["rawQueryString"] = json!(format!("a=b c|d%&token={SECRET}"));
                event
            },
            true,
        ),
        (
            "a wrong token",
            unreadable(
                Call::post("/hooks/amlyze", AMLYZE).header("x-webhook-token", "guess"),
                FrontDoor::HttpV2,
            ),
            false,
        ),
        (
            "no token",
            unreadable(Call::post("/hooks/amlyze", AMLYZE), FrontDoor::HttpV2),
            false,
        ),
        (
            "outside the allowlist",
            unreadable(
                Call::post("/hooks/amlyze", AMLYZE)
                    .header("x-webhook-token", SECRET)
                    .from_ip("192.0.2.1"),
                FrontDoor::HttpV2,
            ),
            false,
        ),
        (
            "no source at all",
            json!({"headers": {"x-webhook-token": SECRET}}),
            false,
        ),
    ];
    for (what, event, kept) in cases {
        let raw = RawValue::from_string(event.to_string()).unwrap();
        let answer = intake::invoke(&app, LambdaEvent::new(raw, Context::default())).await;
        assert_eq!(answer["statusCode"], 500, "{what}: {answer}");
        let records = app.publisher.queues().take(QUARANTINE);
        assert_eq!(records.len(), usize::from(kept), "{what}");
        assert!(records.iter().all(|r| !r.body.contains(SECRET)), "{what}: redacted");
    }
}
