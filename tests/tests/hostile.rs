//! Hostile input: allowlist bypass attempts, secrets, injection, enormous
//! and odd values. Each case names what it tries.

use harness::stack::{send, Stack};
use harness::{Call, FrontDoor};
use intake::Provider;
use serde_json::{json, Value};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");

fn artemis(body: &str) -> Call {
    Call::post("/hooks/artemis", body)
}

#[tokio::test]
async fn allowlist_bypass_attempts_are_refused() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[("ALLOWED_SOURCE_CIDRS", "198.51.100.0/24")]);
    // Malformed or missing addresses from the front door: refused, never "allowed by default".
    for ip in [
        "",
        "not-an-ip",
        "999.1.1.1",
        "198.51.100.0/24",
        "198.51.100.7:443",
        "0x7f.1",
        "::ffff:203.0.113.9",
    ] {
        let answer = send(&app, &artemis(INSERT).from_ip(ip), FrontDoor::RestV1).await;
        assert_eq!(answer.status, 403, "source ip {ip:?}");
    }
    // An IPv4-mapped IPv6 address is the IPv4 address it maps.
    assert_eq!(
        send(&app, &artemis(INSERT).from_ip("::ffff:198.51.100.7"), FrontDoor::HttpV2)
            .await
            .status,
        202
    );
    // Spoofed forwarding headers change nothing for API Gateway and function URLs...
    for header in ["x-forwarded-for", "x-real-ip", "forwarded", "true-client-ip"] {
        for door in [FrontDoor::RestV1, FrontDoor::HttpV2, FrontDoor::FunctionUrl] {
            let call = artemis(INSERT).from_ip("203.0.113.9").header(header, "198.51.100.7");
            assert_eq!(send(&app, &call, door).await.status, 403, "{header} via {door:?}");
        }
    }
    // ...and behind an ALB only the entry the load balancer appended counts.
    let call = artemis(INSERT)
        .from_ip("203.0.113.9")
        .header("x-forwarded-for", "198.51.100.7, 198.51.100.8");
    assert_eq!(send(&app, &call, FrontDoor::Alb).await.status, 403);
    assert_eq!(stack.queued().await.len(), 1);
    assert!(
        stack.quarantined().await.is_empty(),
        "refused callers leave nothing behind"
    );
}

#[tokio::test]
async fn secrets_never_leave_the_function() {
    let stack = Stack::new(false).await;
    let secret = "s3cr3t-t0ken";
    let app = stack.app(Provider::Artemis, &[("SHARED_SECRET", secret)]);
    // Near misses: prefix, suffix, case, padding, repeated parameter.
    for token in [
        "s3cr3t-t0ke",
        "s3cr3t-t0ken ",
        "S3CR3T-T0KEN",
        " s3cr3t-t0ken",
        "s3cr3t-t0kenX",
        "",
    ] {
        let answer = send(
            &app,
            &artemis(INSERT).header("x-webhook-token", token),
            FrontDoor::RestV1,
        )
        .await;
        assert_eq!(answer.status, 401, "{token:?}");
        assert!(!answer.body.to_string().contains(secret));
    }
    // A valid token on an invalid body: the quarantine record has no trace of it.
    let call = artemis("{\"customerId\": -1}")
        .header("x-webhook-token", secret)
        .header("authorization", format!("Basic {secret}").as_str())
        .header("cookie", format!("t={secret}").as_str())
        .query("token", secret);
    let answer = send(&app, &call, FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 400);
    assert!(!answer.body.to_string().contains(secret));
    let kept = stack.quarantined().await;
    assert_eq!(kept.len(), 1);
    assert!(!kept[0].to_string().contains(secret), "{}", kept[0]);
}

#[tokio::test]
async fn injection_attempts_are_data_not_instructions() {
    let stack = Stack::new(false).await;
    let app = stack.app(Provider::Artemis, &[]);
    // Strings that mean something elsewhere (SQL, shell, templates, JSON in a
    // string, control characters, bidi overrides) pass through verbatim.
    let nasty = [
        "'; DROP TABLE customers; --",
        "$(rm -rf /)",
        "{{7*7}}",
        "{\"status\":\"CLEARED\"}",
        "line\nbreak\ttab\u{0}",
        "\u{202e}evil",
    ];
    for text in nasty {
        let mut body: serde_json::Map<String, Value> = serde_json::from_str(INSERT).unwrap();
        body.insert("customerReferenceId".into(), json!(text));
        body.insert("message".into(), json!(text));
        let answer = send(
            &app,
            &artemis(&serde_json::to_string(&body).unwrap()),
            FrontDoor::RestV1,
        )
        .await;
        assert_eq!(answer.status, 202, "{text:?}");
        let event = stack.queued().await[0].json();
        assert_eq!(event["subject"], text);
        assert_eq!(event["data"]["message"], text);
        assert_eq!(
            event["data"]["status"], "PENDING",
            "a JSON-looking string changes no field"
        );
    }
    // A header value crafted to look like another header is one opaque value.
    let call = artemis(INSERT)
        .header("x-note", "a; ce-type: evil")
        .header("content-type", "application/json; charset=utf-8");
    assert_eq!(send(&app, &call, FrontDoor::RestV1).await.status, 202);
    assert_eq!(
        stack.queued().await[0].json()["type"],
        "co.cynopsis.artemis.customer.insert"
    );
}

#[tokio::test]
async fn enormous_and_overlong_values() {
    let stack = Stack::new(true).await;
    let app = stack.app(Provider::Artemis, &[]);
    // An enormous header value is carried, not fatal.
    let big_header = "h".repeat(64 * 1024);
    let answer = send(&app, &artemis(INSERT).header("x-big", &big_header), FrontDoor::RestV1).await;
    assert_eq!(answer.status, 202);
    // An overlong reference becomes a subject; the FIFO group id stays within 128 characters.
    let long_reference = "R".repeat(100_000);
    // (Another customerId: the dedupe key is customerId + action + status + riskRating.)
    let body = INSERT
        .replace("CUST-000123", &long_reference)
        .replace("123456", "654321");
    let answer = send(&app, &artemis(&body), FrontDoor::HttpV2).await;
    assert_eq!(answer.status, 202);
    let queued = stack.queued().await;
    assert_eq!(queued.len(), 2);
    let long = queued
        .iter()
        .find(|m| m.json()["subject"].as_str().is_some_and(|s| s.len() == 100_000))
        .expect("long subject kept whole");
    assert!(long.group_id.as_ref().unwrap().len() <= 128);
    // Numbers that are not exact integers are refused for customerId, whatever their form.
    for id in [
        "1e3",
        "1E+3",
        "123.0",
        "-0",
        "1.7976931348623157e308",
        "18446744073709551616",
        "0.000001",
    ] {
        let answer = send(&app, &artemis(&INSERT.replace("123456", id)), FrontDoor::RestV1).await;
        assert_eq!(answer.status, 400, "customerId {id}");
        assert_eq!(answer.body["errors"][0]["field"], "customerId");
    }
    for not_json in ["NaN", "Infinity", "-Infinity", "0x10", "1_000"] {
        let answer = send(&app, &artemis(&INSERT.replace("123456", not_json)), FrontDoor::RestV1).await;
        assert_eq!(answer.status, 400, "customerId {not_json}");
        assert_eq!(answer.body["errors"][0]["field"], "body", "not JSON at all");
    }
}
