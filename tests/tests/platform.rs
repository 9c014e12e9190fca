//! The ways a request was once lost, one regression test each, through the real
//! handler and front doors against moto behind the strict SQS layer (every
//! send checked against real SQS's limits). Each failed on the build before
//! the fix: a panic (502, nothing kept), memory and time blow-up, an 11 MB
//! response, a record SQS refuses, an attribute SQS refuses, a lost FIFO
//! change, unbounded one-by-one sends, SDK text in the response.

use harness::faults::FaultProxy;
use harness::stack::{send, Stack};
use harness::{sqs, Call, FrontDoor, Moto};
use intake::kept::QuarantineRecord;
use intake::{App, Provider};
use platform::sqs::{MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES};
use serde_json::{json, Value};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");
const SUBJECT: &str = "82deaa92-d559-40bd-96b7-053341a08e28";

fn amlyze_binary(body: &str, time: &str) -> Call {
    Call::post("/hooks/amlyze", body)
        .header("ce-id", "evt-extreme")
        .header("ce-source", "customer")
        .header("ce-type", "com.amlyze.customer.updated")
        .header("ce-specversion", "1.0")
        .header("ce-subject", SUBJECT)
        .header("ce-time", time)
}

fn structured(id: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "customer", "type": "com.amlyze.customer.updated", "data": data})
}

fn batch(body: String) -> Call {
    Call::post("/hooks/amlyze", body).header("content-type", "application/cloudevents-batch+json")
}

// Class 1: a valid but extreme time panicked in the UTC conversion (502, nothing kept).
#[tokio::test]
async fn extreme_valid_times_are_accepted_through_every_front_door() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);
    let never = "9999-12-31T23:59:59-05:00";
    let data = AMLYZE.replace("2019-12-13T12:01:02.694Z", "9999-12-31t23:59:59.5-23:59");
    for door in FrontDoor::ALL {
        for (time, expected) in [(never, never), ("", "9999-12-31T23:59:59.5-23:59")] {
            let mut call = amlyze_binary(&data, time);
            if time.is_empty() {
                call.headers.retain(|(name, _)| name != "ce-time");
            }
            let answer = send(&app, &call, door).await;
            assert_eq!(answer.status, 202, "{door:?} {time:?}: {}", answer.body);
            let queued = stack.queued().await;
            let event = queued[0].json();
            assert_eq!(event["time"], expected, "the instant, in the sender's offset");
            assert_eq!(
                event["data"]["updatedAt"], "9999-12-31t23:59:59.5-23:59",
                "kept as sent"
            );
        }
    }
    assert!(stack.quarantined().await.is_empty());
}

// Class 2: thousands of duplicated keys under one long key built a path per key: gigabytes.
#[tokio::test]
async fn many_duplicates_under_a_long_key_get_a_bounded_400() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    let long = "k".repeat(100_000);
    let inner = "\"a\":1,".repeat(25_000);
    let body = format!("{{\"{long}\":{{{inner}\"a\":1}}}}");
    assert!(body.len() <= 256 * 1024);
    let started = std::time::Instant::now();
    let answer = send(&app, &Call::post("/hooks/artemis", body.clone()), FrontDoor::RestV1).await;
    assert_eq!(answer.status, 400);
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
    assert_eq!(answer.body["errors"].as_array().unwrap().len(), 100);
    assert_eq!(answer.body["errorsTruncated"], 25_000 - 100);
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["body"], body.as_str());
}

// Class 3: a batch of 130,000 bad items got an 11 MB problem response (API Gateway: 502).
#[tokio::test]
async fn a_batch_of_130000_bad_items_gets_a_small_400_and_a_record_that_fits() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);
    let body = format!("[{}1]", "1,".repeat(129_999));
    let answer = send(&app, &batch(body.clone()), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 400);
    let size = answer.body.to_string().len();
    assert!(
        size < 64 * 1024,
        "{size} bytes, far below Lambda's {MAX_RESPONSE_BYTES}"
    );
    assert_eq!(
        answer.body["errors"][0]["message"],
        "the batch holds 130000 events; at most 100 are taken in one request"
    );
    assert_eq!(answer.body["errorsTruncated"], 130_001 - 100);
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["errorsTruncated"], 130_001 - 100);
    assert_eq!(kept[0]["body"], body.as_str());
}

// Class 4: control characters at the size limit became a record over 1 MiB once escaped.
#[tokio::test]
async fn a_body_of_control_characters_at_the_limit_is_kept_exactly() {
    let stack = Stack::new(false).await;
    for provider in [Provider::Artemis, Provider::Amlyze] {
        let app = stack.app(provider, &[]);
        let body: Vec<u8> = (0..256 * 1024).map(|i| (i % 31 + 1) as u8).collect();
        let mut call = Call::post("/hooks/x", body.clone());
        call.headers.clear();
        let answer = send(&app, &call, FrontDoor::RestV1).await;
        assert_eq!(answer.status, 400, "{provider:?}");
        let kept = sqs::drain(&stack.client, &stack.quarantine).await;
        assert_eq!(kept.len(), 1);
        assert!(kept[0].body.len() <= MAX_MESSAGE_BYTES);
        let record: QuarantineRecord = serde_json::from_str(&kept[0].body).unwrap();
        assert_eq!(record.body_encoding.as_deref(), Some("base64"));
        assert!(record.body_bytes().unwrap() == body, "the exact bytes");
    }
}

// Class 5: control characters or U+FFFE in customerReferenceId went into the
// `subject` attribute; moto took it, SQS refuses it: a 503 for ever on AWS.
#[tokio::test]
async fn values_sqs_refuses_in_attributes_are_made_safe_and_kept_exact_in_the_body() {
    for fifo in [false, true] {
        let stack = Stack::new(fifo).await;
        let app = stack.app(Provider::Artemis, &[]);
        let reference = "CUST\u{0}\u{1f}\u{fffe}\u{ffff}-\u{7f}é";
        let mut callback: Value = serde_json::from_str(INSERT).unwrap();
        callback["customerReferenceId"] = json!(reference);
        let body = callback.to_string();
        let answer = send(&app, &Call::post("/hooks/artemis", body), FrontDoor::HttpV2).await;
        assert_eq!(answer.status, 202, "fifo={fifo}: {}", answer.body);
        let queued = stack.queued().await;
        assert_eq!(queued[0].json()["subject"], reference, "the body keeps the exact value");
        assert_eq!(queued[0].json()["data"]["customerReferenceId"], reference);
        let subject = &queued[0].attributes["subject"];
        assert!(subject.chars().all(platform::sqs::is_sqs_char), "{subject:?}");
        assert!(subject.starts_with("CUST\u{fffd}"), "{subject:?}");
    }
}

// Class 6: on FIFO, PENDING → CLEARED → REQUIRE_UPDATE → CLEARED within five
// minutes lost the last CLEARED (its dedupe id repeated the first CLEARED's).
#[tokio::test]
async fn fifo_keeps_a_return_to_an_earlier_state() {
    let stack = Stack::new(true).await;
    let app = stack.app(Provider::Artemis, &[]);
    let statuses = ["PENDING", "CLEARED", "REQUIRE_UPDATE", "CLEARED"];
    for status in statuses {
        let body = INSERT.replace("\"PENDING\"", &format!("\"{status}\""));
        assert_eq!(
            send(&app, &Call::post("/hooks/artemis", body), FrontDoor::RestV1)
                .await
                .status,
            202
        );
    }
    let queued = stack.queued().await;
    let landed: Vec<Value> = queued.iter().map(|m| m.json()["data"]["status"].clone()).collect();
    assert_eq!(landed, statuses.map(Value::from), "every change, in order");
    assert_eq!(
        queued[1].json()["dedupekey"],
        queued[3].json()["dedupekey"],
        "the vendor's key is equal"
    );
}

// Class 7: a batch went out one SendMessage at a time, with no cap.
#[tokio::test]
async fn batches_go_out_in_send_message_batch_calls_of_ten_and_are_capped() {
    let stack = Stack::new(false).await;
    let proxy = FaultProxy::start(&Moto::shared().endpoint).await;
    let client = sqs::function_client(&proxy.endpoint).await;
    let config = harness::config(
        Provider::Amlyze,
        &[("QUEUE_URL", &stack.queue), ("QUARANTINE_QUEUE_URL", &stack.quarantine)],
    )
    .unwrap();
    let app = App::new(config, client, harness::archive::firehose_client(&proxy.endpoint).await);
    let events: Vec<Value> = (0..25)
        .map(|i| structured(&format!("b-{i}"), json!({"customerExternalID": format!("c-{i}")})))
        .collect();
    let answer = send(&app, &batch(json!(events).to_string()), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(proxy.requests(), 3, "25 events: three SendMessageBatch calls");
    let queued = stack.queued().await;
    assert_eq!(queued.len(), 25);
    let too_many: Vec<Value> = (0..101)
        .map(|i| structured(&format!("m-{i}"), json!({"customerExternalID": "c"})))
        .collect();
    assert_eq!(
        send(&app, &batch(json!(too_many).to_string()), FrontDoor::HttpV2)
            .await
            .status,
        400
    );
    assert_eq!(proxy.requests(), 4, "only the quarantine record was sent");
    assert_eq!(stack.quarantined().await.len(), 1);
}

// Every queue message these tests produced passed the strict checks.
#[tokio::test]
async fn a_message_sqs_would_refuse_is_refused_by_the_strict_layer_too() {
    // The layer itself: a send moto would take but SQS refuses is refused and recorded.
    let stack = Stack::new(false).await;
    let refused = stack
        .client
        .send_message()
        .queue_url(&stack.queue)
        .message_body("bad \u{fffe}")
        .send()
        .await;
    assert!(refused.is_err(), "the strict layer refused it");
    let recorded = harness::faults::violations_for(&stack.queue);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0].what.contains("U+FFFE"));
}
