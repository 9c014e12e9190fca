//! The handlers against a real SQS (moto on loopback), fed real Lambda events
//! from every front door. Each test names the contract row it covers.

use std::time::{Duration, Instant};

use harness::sqs::{self, Received};
use harness::stack::{send, Stack};
use harness::{Call, FrontDoor, Moto};
use intake::{App, Provider};
use serde_json::{json, Value};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const UPDATE: &str = include_str!("../../events/bodies/artemis-update.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");
const SUBJECT: &str = "82deaa92-d559-40bd-96b7-053341a08e28";

fn artemis(body: &str) -> Call {
    Call::post("/hooks/artemis", body)
}

fn amlyze_binary(body: &str) -> Call {
    Call::post("/hooks/amlyze", body)
        .header("ce-id", "0412a5ca-3be7-46b7-87de-38366397602e")
        .header("ce-source", "customer")
        .header("ce-type", "com.amlyze.customer.updated")
        .header("ce-specversion", "1.0")
        .header("ce-subject", SUBJECT)
        .header("ce-time", "2026-03-10t12:53:45.85z")
}

fn structured_event(id: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "customer", "type": "com.amlyze.customer.updated",
        "subject": SUBJECT, "time": "2026-03-10T12:53:45Z", "datacontenttype": "application/json",
        "data": serde_json::from_str::<Value>(AMLYZE).unwrap()
    })
}

// Row: accepted → 202 {"id"}; every front door; what lands on the queue (artemis column).
#[tokio::test]
async fn artemis_insert_through_every_front_door_lands_as_a_cloudevent() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    for door in FrontDoor::ALL {
        let answer = send(&app, &artemis(INSERT), door).await;
        assert_eq!(answer.status, 202, "{door:?}: {}", answer.body);
        let queued = stack.queued().await;
        assert_eq!(queued.len(), 1, "{door:?}");
        let event = queued[0].json();
        assert_eq!(
            answer.body["id"], event["id"],
            "{door:?}: the response names the queued event"
        );
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "artemis");
        assert_eq!(event["type"], "co.cynopsis.artemis.customer.insert");
        assert_eq!(event["subject"], "CUST-000123");
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["provider"], "artemis");
        assert_eq!(event["dedupekey"].as_str().unwrap().len(), 64);
        assert_eq!(event["time"], event["receivedtime"]);
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(event["data"], serde_json::from_str::<Value>(INSERT).unwrap());
        let attributes = &queued[0].attributes;
        assert_eq!(attributes["provider"], "artemis");
        assert_eq!(attributes["type"], "co.cynopsis.artemis.customer.insert");
        assert_eq!(attributes["subject"], "CUST-000123");
    }
    assert!(stack.quarantined().await.is_empty());
}

// Row: artemis accepts POST, PUT and PATCH; the id is unique per delivery and
// the same for a replay of one delivery; dedupekey is the vendor's key.
#[tokio::test]
async fn artemis_put_and_patch_are_accepted_and_ids_are_per_delivery() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    let mut ids = Vec::new();
    for method in ["PUT", "PATCH", "POST"] {
        let answer = send(&app, &artemis(UPDATE).method(method), FrontDoor::HttpV2).await;
        assert_eq!(answer.status, 202, "{method}");
        ids.push(answer.body["id"].clone());
    }
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2],
        "three deliveries, three ids: {ids:?}"
    );
    let replayed = artemis(UPDATE).request_id("delivery-7");
    let first = send(&app, &replayed, FrontDoor::RestV1).await.body["id"].clone();
    assert_eq!(
        send(&app, &replayed, FrontDoor::HttpV2).await.body["id"],
        first,
        "one delivery, one id"
    );
    let queued = stack.queued().await;
    assert_eq!(queued.len(), 5, "a standard queue keeps every delivery");
    assert_eq!(queued[0].json()["type"], "co.cynopsis.artemis.customer.update");
    assert!(queued
        .iter()
        .all(|m| m.json()["dedupekey"] == queued[0].json()["dedupekey"]));
}

// Row: unknown enum values and unknown fields are passed on verbatim; customerId exact beyond 2^53.
#[tokio::test]
async fn artemis_unknown_values_and_big_ids_land_verbatim() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    let body = INSERT
        .replace("123456", "9007199254740993")
        .replace("\"PENDING\"", "\"ON_HOLD\"")
        .replace("\"INSERT\"", "\"DELETE\"")
        .replace("\"message\": null", "\"message\": null, \"newField\": {\"a\": 1}");
    let answer = send(&app, &artemis(&body), FrontDoor::RestV1).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let queued = stack.queued().await;
    assert!(
        queued[0].body.contains("\"customerId\":9007199254740993"),
        "{}",
        queued[0].body
    );
    let event = queued[0].json();
    assert_eq!(event["type"], "co.cynopsis.artemis.customer.delete");
    assert_eq!(event["data"]["status"], "ON_HOLD");
    assert_eq!(event["data"]["newField"], json!({"a": 1}));
}

// Row: amlyze binary mode, every front door; what lands (amlyze column).
#[tokio::test]
async fn amlyze_binary_mode_through_every_front_door() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);
    for door in FrontDoor::ALL {
        let answer = send(&app, &amlyze_binary(AMLYZE), door).await;
        assert_eq!(answer.status, 202, "{door:?}: {}", answer.body);
        assert_eq!(answer.body["id"], "0412a5ca-3be7-46b7-87de-38366397602e");
        let queued = stack.queued().await;
        assert_eq!(queued.len(), 1);
        let event = queued[0].json();
        assert_eq!(event["id"], "0412a5ca-3be7-46b7-87de-38366397602e");
        assert_eq!(event["source"], "customer");
        assert_eq!(event["type"], "com.amlyze.customer.updated");
        assert_eq!(event["subject"], SUBJECT);
        assert_eq!(event["time"], "2026-03-10T12:53:45.85Z");
        assert_eq!(event["provider"], "amlyze");
        assert_eq!(event["data"]["updatedAt"], "2019-12-13T12:01:02.694Z");
        assert_eq!(event["data"]["sanctioned"], true);
        assert_eq!(queued[0].attributes["subject"], SUBJECT);
        assert_eq!(queued[0].attributes["provider"], "amlyze");
        assert_eq!(queued[0].attributes["type"], "com.amlyze.customer.updated");
    }
}

// Row: structured mode and batch mode (each event its own message); other types pass as-is.
#[tokio::test]
async fn amlyze_structured_batch_and_other_types() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);

    let structured = Call::post("/hooks/amlyze", structured_event("evt-1").to_string())
        .header("content-type", "application/cloudevents+json");
    let answer = send(&app, &structured, FrontDoor::FunctionUrl).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(stack.queued().await[0].json()["id"], "evt-1");

    let batch = json!([
        structured_event("evt-2"),
        structured_event("evt-3"),
        structured_event("evt-4")
    ]);
    let call =
        Call::post("/hooks/amlyze", batch.to_string()).header("content-type", "application/cloudevents-batch+json");
    let answer = send(&app, &call, FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["ids"], json!(["evt-2", "evt-3", "evt-4"]));
    let ids: Vec<Value> = stack.queued().await.iter().map(|m| m.json()["id"].clone()).collect();
    assert_eq!(ids, [json!("evt-2"), json!("evt-3"), json!("evt-4")]);

    let other = amlyze_binary(r#"{"caseId": 42}"#)
        .header("ce-type", "com.amlyze.case.opened")
        .header("ce-subject", "");
    let answer = send(&app, &other, FrontDoor::RestV1).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let event = stack.queued().await[0].json();
    assert_eq!(event["type"], "com.amlyze.case.opened");
    assert_eq!(event["data"], json!({"caseId": 42}));
}

// Row: a FIFO queue gets MessageGroupId per customer and MessageDeduplicationId from the dedupe key; a repeat is dropped.
#[tokio::test]
async fn fifo_queue_groups_per_customer_and_drops_only_copies_of_one_delivery() {
    let stack = Stack::new(true).await;
    let artemis_app = stack.app(Provider::Artemis, &[]);
    let amlyze_app = stack.app(Provider::Amlyze, &[]);
    // Two deliveries of an equal Artemis body are two events; the same delivery
    // twice (a replay) is one; an Amlyze redelivery of the same Ce-Id is one.
    for call in [
        artemis(INSERT),
        artemis(INSERT).request_id("d-1"),
        artemis(INSERT).request_id("d-1"),
    ] {
        assert_eq!(send(&artemis_app, &call, FrontDoor::RestV1).await.status, 202);
    }
    for _ in 0..2 {
        assert_eq!(
            send(&amlyze_app, &amlyze_binary(AMLYZE), FrontDoor::HttpV2)
                .await
                .status,
            202
        );
    }
    let queued = stack.queued().await;
    assert_eq!(queued.len(), 3, "only copies of one delivery were deduplicated by SQS");
    let artemis_messages: Vec<&Received> = queued.iter().filter(|m| m.json()["provider"] == "artemis").collect();
    assert_eq!(artemis_messages.len(), 2);
    for message in &artemis_messages {
        let event = message.json();
        assert_eq!(message.group_id.as_deref(), Some("artemis:CUST-000123"));
        let expected = intake::testing::fifo_deduplication_id("artemis", event["id"].as_str().unwrap());
        assert_eq!(message.deduplication_id.as_deref(), Some(expected.as_str()));
    }
    let amlyze_message = queued.iter().find(|m| m.json()["provider"] == "amlyze").unwrap();
    assert_eq!(
        amlyze_message.group_id.as_deref(),
        Some(format!("amlyze:{SUBJECT}").as_str())
    );
    assert!(amlyze_message.deduplication_id.as_ref().unwrap().len() <= 128);
}

// Row: CloudEvents abuse-protection preflight (amlyze) → 200 with WebHook-Allowed-Origin/-Rate and Allow.
#[tokio::test]
async fn amlyze_answers_the_webhook_preflight() {
    let stack = Stack::new(false).await;
    for (vars, rate) in [(vec![], "*"), (vec![("WEBHOOK_ALLOWED_RATE", "120")], "120")] {
        let app = stack.app(Provider::Amlyze, &vars);
        let call = Call::post("/hooks/amlyze", "")
            .method("OPTIONS")
            .header("webhook-request-origin", "eventemitter.amlyze.com");
        let answer = send(&app, &call, FrontDoor::HttpV2).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["webhook-allowed-origin"], "eventemitter.amlyze.com");
        assert_eq!(answer.headers["webhook-allowed-rate"], rate);
        assert_eq!(answer.headers["allow"], "POST, OPTIONS");
    }
    assert!(stack.queued().await.is_empty() && stack.quarantined().await.is_empty());
}

// Row: other methods → 405 with Allow; nothing queued or quarantined.
#[tokio::test]
async fn wrong_methods_get_405_with_allow() {
    let stack = Stack::new(false).await;
    let cases = [
        (Provider::Artemis, "GET", "POST, PUT, PATCH"),
        (Provider::Artemis, "DELETE", "POST, PUT, PATCH"),
        (Provider::Amlyze, "PUT", "POST, OPTIONS"),
        (Provider::Amlyze, "OPTIONS", "POST, OPTIONS"), // no WebHook-Request-Origin: not a preflight
    ];
    for (provider, method, allow) in cases {
        let app = stack.app(provider, &[]);
        let answer = send(&app, &artemis(INSERT).method(method), FrontDoor::RestV1).await;
        assert_eq!(answer.status, 405, "{provider:?} {method}");
        assert_eq!(answer.headers["allow"], allow);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    assert!(stack.queued().await.is_empty() && stack.quarantined().await.is_empty());
}

// Row: body larger than MAX_BODY_BYTES → 413 problem JSON (request kept in quarantine).
#[tokio::test]
async fn oversized_bodies_get_413() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[("MAX_BODY_BYTES", "400")]);
    let answer = send(&app, &artemis(INSERT), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 202, "the example fits in 400 bytes");
    let big = INSERT.replace("null", &format!("\"{}\"", "x".repeat(500)));
    let answer = send(&app, &artemis(&big), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.body["status"], 413);
    assert_eq!(answer.body["errors"][0]["field"], "body");
    assert_eq!(stack.queued().await.len(), 1, "only the first");
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["status"], 413);
    assert_eq!(kept[0]["body"], big);
}

// Row: Content-Type present and not JSON → 415 problem JSON (request kept in quarantine).
#[tokio::test]
async fn non_json_content_types_get_415() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[]);
    for content_type in ["text/plain", "application/xml", "application/x-www-form-urlencoded"] {
        let answer = send(
            &app,
            &amlyze_binary(AMLYZE).header("content-type", content_type),
            FrontDoor::RestV1,
        )
        .await;
        assert_eq!(answer.status, 415, "{content_type}");
        assert_eq!(answer.body["errors"][0]["field"], "Content-Type");
    }
    // No Content-Type at all is read as JSON.
    let answer = send(
        &app,
        &amlyze_binary(AMLYZE).header("content-type", ""),
        FrontDoor::RestV1,
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(stack.quarantined().await.len(), 3);
}

// Row: caller not in ALLOWED_SOURCE_CIDRS → 403, nothing queued or quarantined; the
// address is the one the front door reports, never a client X-Forwarded-For.
#[tokio::test]
async fn allowlist_uses_the_front_doors_address() {
    let stack = Stack::new(false).await;
    let app = stack.app(
        Provider::Artemis,
        &[("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24, 2001:db8::/32")],
    );
    for door in FrontDoor::ALL {
        let allowed = artemis(INSERT).from_ip("198.51.100.20");
        assert_eq!(send(&app, &allowed, door).await.status, 202, "{door:?}");
        let v6 = artemis(INSERT).from_ip("2001:db8::7");
        assert_eq!(send(&app, &v6, door).await.status, 202, "{door:?} IPv6");
        let outsider = artemis(INSERT)
            .from_ip("203.0.113.9")
            .header("x-forwarded-for", "198.51.100.20");
        let answer = send(&app, &outsider, door).await;
        assert_eq!(answer.status, 403, "{door:?}: a spoofed X-Forwarded-For must not pass");
        assert_eq!(answer.body["status"], 403);
    }
    assert_eq!(stack.queued().await.len(), 8);
    assert!(stack.quarantined().await.is_empty());
}

// Row: missing or wrong SHARED_SECRET token → 401, nothing queued or quarantined.
#[tokio::test]
async fn shared_secret_in_header_or_query() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Amlyze, &[("SHARED_SECRET", "correct horse")]);
    let good_header = amlyze_binary(AMLYZE).header("x-webhook-token", "correct horse");
    assert_eq!(send(&app, &good_header, FrontDoor::RestV1).await.status, 202);
    let good_query = amlyze_binary(AMLYZE).query("token", "correct horse");
    assert_eq!(send(&app, &good_query, FrontDoor::HttpV2).await.status, 202);
    for bad in [
        amlyze_binary(AMLYZE),
        amlyze_binary(AMLYZE).header("x-webhook-token", "wrong"),
        amlyze_binary(AMLYZE).query("token", "correct hors"),
    ] {
        let answer = send(&app, &bad, FrontDoor::FunctionUrl).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    // A bad payload with a wrong token is a 401, not a 400: it is not ours to keep.
    assert_eq!(
        send(
            &app,
            &amlyze_binary("{").header("x-webhook-token", "nope"),
            FrontDoor::Alb
        )
        .await
        .status,
        401
    );
    assert_eq!(stack.queued().await.len(), 2);
    assert!(
        stack.quarantined().await.is_empty(),
        "without an allowlist, strangers cannot fill the quarantine"
    );

    // Behind an allowlist a wrong token is most likely the vendor after a
    // botched rotation: kept, token redacted, reason `unauthorized`.
    let app = stack.app(
        Provider::Amlyze,
        &[
            ("SHARED_SECRET", "correct horse"),
            ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24"),
        ],
    );
    let rotated = amlyze_binary(AMLYZE)
        .header("x-webhook-token", "old horse")
        .query("token", "old horse");
    assert_eq!(send(&app, &rotated, FrontDoor::RestV1).await.status, 401);
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["reason"], "unauthorized");
    assert_eq!(kept[0]["status"], 401);
    assert_eq!(kept[0]["body"], AMLYZE);
    assert!(!kept[0].to_string().contains("old horse"), "the token is redacted");
    assert!(stack.queued().await.is_empty());
}

// A flood of wrong tokens is not kept. Only behind an allowlist
// that is a boundary (not wider than the open-door limit, however split),
// and at most KEPT_UNAUTHORIZED_PER_MINUTE a minute per environment.
#[tokio::test]
async fn wrong_tokens_are_kept_only_behind_a_boundary_and_only_ten_a_minute() {
    let stack = Stack::new(false).await;
    let wrong = amlyze_binary(AMLYZE).header("x-webhook-token", "wrong");
    let wide = stack.app(
        Provider::Amlyze,
        &[
            ("SHARED_SECRET", "correct horse"),
            ("ALLOWED_SOURCE_CIDRS", "0.0.0.0/1,128.0.0.0/1"),
        ],
    );
    for _ in 0..3 {
        assert_eq!(send(&wide, &wrong, FrontDoor::RestV1).await.status, 401);
    }
    assert!(
        stack.quarantined().await.is_empty(),
        "a world-wide allowlist is no boundary"
    );
    let narrow = stack.app(
        Provider::Amlyze,
        &[
            ("SHARED_SECRET", "correct horse"),
            ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24"),
        ],
    );
    for _ in 0..15 {
        assert_eq!(send(&narrow, &wrong, FrontDoor::HttpV2).await.status, 401);
    }
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), intake::testing::KEPT_UNAUTHORIZED_PER_MINUTE as usize);
    assert!(kept.iter().all(|record| record["reason"] == "unauthorized"));
    // Other refusals are not capped.
    let invalid = amlyze_binary("{").header("x-webhook-token", "correct horse");
    assert_eq!(send(&narrow, &invalid, FrontDoor::HttpV2).await.status, 400);
    assert_eq!(stack.quarantined().await.len(), 1);
}

// Row: 400 for every kind of invalid input, problem JSON listing every problem, quarantined verbatim.
#[tokio::test]
async fn invalid_requests_get_400_listing_every_problem_and_are_quarantined_verbatim() {
    let stack = Stack::new(false).await;
    let artemis_app = stack.app(Provider::Artemis, &[("SHARED_SECRET", "s3cret")]);
    let amlyze_app = stack.app(Provider::Amlyze, &[]);
    let cases: Vec<(&App, Call, Vec<&str>)> = vec![
        (&artemis_app, artemis("{not json"), vec!["body"]),
        (
            &artemis_app,
            artemis(&INSERT.replacen("\"status\"", "\"status\": \"CLEARED\", \"status\"", 1)),
            vec!["status"],
        ),
        (
            &artemis_app,
            artemis(r#"{"customerId": "1", "status": 5}"#),
            vec![
                "customerId",
                "customerReferenceId",
                "profileReferenceId",
                "status",
                "action",
                "customerType",
            ],
        ),
        (&artemis_app, artemis(""), vec!["body"]),
        (
            &amlyze_app,
            amlyze_binary(AMLYZE)
                .header("ce-specversion", "0.3")
                .header("ce-id", ""),
            vec!["Ce-Id", "Ce-Specversion"],
        ),
        (
            &amlyze_app,
            amlyze_binary(AMLYZE).header("ce-time", "noon"),
            vec!["Ce-Time"],
        ),
        (
            &amlyze_app,
            amlyze_binary(AMLYZE).header("ce-subject", "someone-else"),
            vec!["Ce-Subject"],
        ),
        (
            &amlyze_app,
            amlyze_binary(&AMLYZE.replace("true", "\"true\"")),
            vec!["sanctioned", "pep", "inAdverseMedia", "inInternalList"],
        ),
    ];
    let expected_count = cases.len();
    for (app, call, fields) in cases {
        let call = call
            .header("x-webhook-token", "s3cret")
            .header("authorization", "Bearer abc")
            .header("cookie", "sid=1");
        let answer = send(app, &call, FrontDoor::RestV1).await;
        assert_eq!(answer.status, 400, "{fields:?}: {}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        let found: Vec<&str> = answer.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(found, fields);
        for key in ["type", "title", "status", "detail"] {
            assert!(answer.body.get(key).is_some(), "problem JSON has {key}");
        }
        let kept = stack.quarantined().await;
        assert_eq!(kept.len(), 1);
        let record = &kept[0];
        assert_eq!(
            record["body"],
            String::from_utf8(call.body.clone()).unwrap(),
            "the exact body"
        );
        assert_eq!(record["errors"], answer.body["errors"]);
        assert_eq!(record["method"], "POST");
        // REST APIs report the stage-prefixed path (/prod/hooks/...).
        assert!(
            record["path"].as_str().unwrap().ends_with(&call.path),
            "{}",
            record["path"]
        );
        assert_eq!(record["sourceIp"], "203.0.113.9");
        assert!(record["receivedtime"].as_str().unwrap().ends_with('Z'));
        let text = record.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("Bearer abc") && !text.contains("sid=1"),
            "secrets redacted: {text}"
        );
        assert_eq!(record["headers"]["x-webhook-token"], "[redacted]");
    }
    assert!(
        stack.queued().await.is_empty(),
        "{expected_count} invalid requests, nothing queued"
    );
}

// Row: quarantine keeps a non-UTF-8 body as base64.
#[tokio::test]
async fn binary_bodies_are_quarantined_as_base64() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    let bytes = vec![0xff, 0xfe, b'{', 0x00, 0x80];
    let mut call = artemis("");
    call.body = bytes.clone();
    for door in [FrontDoor::RestV1, FrontDoor::HttpV2] {
        let answer = send(&app, &call, door).await;
        assert_eq!(answer.status, 400);
        let kept = stack.quarantined().await;
        assert_eq!(kept[0]["bodyEncoding"], "base64");
        use base64::Engine;
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(kept[0]["body"].as_str().unwrap())
                .unwrap(),
            bytes
        );
    }
}

// Row: the event could not be handed to SQS → 503, never 2xx; the request is kept in quarantine.
#[tokio::test]
async fn a_queue_that_refuses_gives_503_and_the_request_is_quarantined() {
    let stack = Stack::new(false).await;
    let missing = format!("{}/123456789012/no-such-queue", Moto::shared().endpoint);
    let app = stack.app(Provider::Artemis, &[("QUEUE_URL", &missing)]);
    let answer = send(&app, &artemis(INSERT), FrontDoor::RestV1).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["errors"][0]["field"], "queue");
    // Regression: the SDK's error (queue name, error code) was in the body.
    let text = answer.body.to_string();
    assert!(
        !text.contains("no-such-queue") && !text.contains("NonExistentQueue") && !text.contains("123456789012"),
        "the response tells the caller nothing internal: {text}"
    );
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["reason"], "queue-unavailable");
    assert_eq!(kept[0]["body"], INSERT);
    assert!(
        kept[0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NonExistentQueue"),
        "the record keeps the SDK's detail: {}",
        kept[0]["errors"]
    );
}

// Row: SQS unreachable → 5xx well inside API Gateway's 29 s (budget: under 10 s).
#[tokio::test]
async fn an_unreachable_sqs_gives_503_within_the_time_budget() {
    let closed = format!("http://127.0.0.1:{}", harness::moto::free_port());
    let client = sqs::function_client(&closed).await;
    let (queue, quarantine) = (
        format!("{closed}/123456789012/events"),
        format!("{closed}/123456789012/quarantine"),
    );
    let config = harness::config(
        Provider::Amlyze,
        &[("QUEUE_URL", &queue), ("QUARANTINE_QUEUE_URL", &quarantine)],
    )
    .unwrap();
    let app = App::new(config, client, harness::archive::firehose_client(&closed).await);
    let started = Instant::now();
    let answer = send(&app, &amlyze_binary(AMLYZE), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered in {:?}",
        started.elapsed()
    );
}

// Bad input never panics a function: every one of these gets a 4xx problem response.
#[tokio::test]
async fn hostile_input_gets_a_4xx_never_a_panic() {
    let stack = Stack::new(false).await;
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let deep_object = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
    let huge = format!("{{\"customerId\": 1, \"message\": \"{}\"}}", "x".repeat(300_000));
    let bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        deep_object.into_bytes(),
        huge.into_bytes(),
        Vec::new(),
        vec![0u8; 64],
        vec![0xff; 1024],
        b"null".to_vec(),
        b"\"just a string\"".to_vec(),
        b"{\"customerId\": 1e999}".to_vec(),
        b"{\"customerId\": NaN}".to_vec(),
        b"{\"customerId\": -0.0, \"status\": {\"nested\": [true]}}".to_vec(),
        "{\"customerReferenceId\": \"\u{0000}\u{202e}\"}".as_bytes().to_vec(),
    ];
    for provider in [Provider::Artemis, Provider::Amlyze] {
        let app = stack.app(provider, &[]);
        for body in &bodies {
            for headers in [true, false] {
                let mut call = artemis("");
                call.body = body.clone();
                if !headers {
                    call.headers.clear();
                }
                let answer = send(&app, &call, FrontDoor::RestV1).await;
                assert!(
                    (400..500).contains(&answer.status),
                    "{provider:?} headers={headers}: {}",
                    answer.status
                );
                assert!(answer.body["errors"].as_array().is_some_and(|e| !e.is_empty()));
            }
        }
    }
    assert!(stack.queued().await.is_empty());
    assert_eq!(
        stack.quarantined().await.len(),
        2 * bodies.len() * 2,
        "every refused request was kept"
    );
}
