use super::*;
use crate::egress::problem::FieldError;
use crate::ingress::redact::*;
use lambda_http::http::{HeaderMap, Method};

fn incoming(body: &[u8]) -> Incoming {
    let mut headers = HeaderMap::new();
    headers.insert("x-webhook-token", "s3cret".parse().unwrap());
    headers.insert("authorization", "Bearer abc".parse().unwrap());
    headers.insert("cookie", "session=1".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.append("x-many", "a".parse().unwrap());
    headers.append("x-many", "b".parse().unwrap());
    Incoming {
        method: Method::POST,
        path: "/hooks/artemis".into(),
        query: vec![("token".into(), "s3cret".into()), ("x".into(), "1".into())],
        headers,
        source_ip: Some("203.0.113.9".into()),
        body: body.to_vec(),
        trace_header: None,
        request_id: "req-9".into(),
    }
}

fn invalid() -> Rejection {
    Rejection::Invalid(vec![])
}

#[test]
fn secrets_are_redacted_and_the_body_kept_verbatim() {
    let record = record_of("artemis", "t".into(), &incoming(b"{\"a\": 1 }"), &invalid());
    assert_eq!(record.request_id, "req-9");
    let json = to_json(&record);
    assert!(
        !json.contains("s3cret") && !json.contains("Bearer") && !json.contains("session=1"),
        "{json}"
    );
    assert_eq!(record.headers["content-type"], "application/json");
    assert_eq!(record.headers["x-many"], "a, b");
    assert_eq!(record.query["x"], "1");
    assert_eq!(record.body, "{\"a\": 1 }");
    assert_eq!(record.body_encoding, None);
    let back: QuarantineRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
}

#[test]
fn every_credential_header_and_query_parameter_is_redacted_in_any_case() {
    let mut request = incoming(b"{}");
    for (i, name) in REDACTED_HEADERS.iter().enumerate() {
        // Header names reach the function in lower case whatever the sender wrote.
        let name: lambda_http::http::HeaderName = name.to_ascii_uppercase().parse().unwrap();
        request.headers.insert(name, format!("credential-{i}").parse().unwrap());
    }
    for (i, name) in REDACTED_QUERY.iter().enumerate() {
        request
            .query
            .push((name.to_ascii_uppercase(), format!("query-credential-{i}")));
        request
            .query
            .push((name.to_string(), format!("query-credential-lower-{i}")));
    }
    let record = record_of("artemis", "t".into(), &request, &invalid());
    let json = to_json(&record);
    assert!(!json.contains("credential-"), "{json}");
    for name in REDACTED_HEADERS {
        assert_eq!(record.headers[*name], REDACTED, "{name}");
    }
    for name in ["x-api-key", "x-amz-security-token", "x-auth-token", "api-key"] {
        assert!(REDACTED_HEADERS.contains(&name), "{name} is on the list");
    }
    for name in ["token", "access_token", "api_key"] {
        assert!(REDACTED_QUERY.contains(&name), "{name} is on the list");
    }
}

#[test]
fn names_that_hold_a_credential_are_redacted_whatever_their_exact_form() {
    for name in [
        "x-access-token",
        "X-Webhook-Secret",
        "apikey",
        "sig",
        "X-Hub-Signature-256",
        "session_id",
        "password",
    ] {
        assert!(is_credential(name), "{name}");
    }
    for name in [
        "content-type",
        "ce-id",
        "ce-source",
        "ce-subject",
        "ce-type",
        "ce-time",
        "x-amzn-trace-id",
        "x",
    ] {
        assert!(!is_credential(name), "{name}");
    }
    let mut request = incoming(b"{}");
    request.headers.insert("x-access-token", "leak-1".parse().unwrap());
    request.query.push(("apikey".into(), "leak-2".into()));
    let json = to_json(&record_of("artemis", "t".into(), &request, &invalid()));
    assert!(!json.contains("leak-"), "{json}");
}

#[test]
fn an_unreadable_event_is_kept_with_its_credentials_redacted_in_every_form() {
    // One event per form a front door uses for headers, query and cookies.
    let forms = [
        serde_json::json!({"headers": {"X-Webhook-Token": "leak", "content-type": "application/json"}}),
        serde_json::json!({"multiValueHeaders": {"authorization": ["leak", "leak"]}}),
        serde_json::json!({"queryStringParameters": {"token": "leak"}}),
        serde_json::json!({"multiValueQueryStringParameters": {"api_key": ["leak"]}}),
        serde_json::json!({"rawQueryString": "a=b c|d%&token=leak&Sig=leak&x=1"}),
        serde_json::json!({"cookies": ["session=leak", "other=leak"]}),
    ];
    for form in forms {
        let raw = form.to_string();
        let kept = redacted_event(raw.as_bytes());
        let text = String::from_utf8(kept.to_vec()).unwrap();
        assert!(!text.contains("leak"), "{text}");
        assert!(text.contains(REDACTED), "{text}");
    }
    let redacted: Value =
        serde_json::from_slice(&redacted_event(br#"{"rawQueryString":"a=b c|d%&token=leak&x=1"}"#)).unwrap();
    assert_eq!(
        redacted["rawQueryString"], "a=b c|d%&token=[redacted]&x=1",
        "the rest as it was"
    );
    let clean = br#"{"headers": {"ce-id": "1"},   "body": "x"}"#;
    assert!(redacted_event(clean) == &clean[..], "nothing to redact: byte for byte");
    assert!(redacted_event(b"not json") == &b"not json"[..]);
}

#[test]
fn the_sender_of_a_raw_event_is_read_where_each_front_door_puts_it() {
    let sender = |event: Value| RawSender::of(event.to_string().as_bytes());
    let ip = |text: &str| text.parse::<std::net::IpAddr>().ok();
    let rest = sender(serde_json::json!({
        "requestContext": {"identity": {"sourceIp": "203.0.113.9"}},
        "headers": {"X-Webhook-Token": "from-header"},
        "queryStringParameters": {"token": "from-query"}
    }));
    assert_eq!(
        (rest.source, rest.token.as_deref()),
        (ip("203.0.113.9"), Some("from-header"))
    );
    let http = sender(serde_json::json!({
        "requestContext": {"http": {"sourceIp": "2001:db8::1"}},
        "rawQueryString": "a=b c|d%&token=a%20b"
    }));
    assert_eq!((http.source, http.token.as_deref()), (ip("2001:db8::1"), Some("a b")));
    let alb = sender(serde_json::json!({
        "requestContext": {"elb": {"targetGroupArn": "arn"}},
        "multiValueHeaders": {"x-forwarded-for": ["10.0.0.1, 198.51.100.7"], "x-webhook-token": ["t"]},
        "multiValueQueryStringParameters": {"token": ["q"]}
    }));
    assert_eq!(
        (alb.source, alb.token.as_deref()),
        (ip("198.51.100.7"), Some("t")),
        "the balancer's entry"
    );
    let spoofed = sender(serde_json::json!({"headers": {"x-forwarded-for": "203.0.113.9"}}));
    assert_eq!(spoofed.source, None, "X-Forwarded-For counts behind an ALB only");
    assert_eq!(RawSender::of(b"not json"), RawSender::default());
}

#[test]
fn binary_bodies_are_base64() {
    let bytes = [0xff, 0xfe, 0x00, 0x41];
    let record = record_of("amlyze", "t".into(), &incoming(&bytes), &invalid());
    assert_eq!(record.body_encoding.as_deref(), Some("base64"));
    assert_eq!(record.body_bytes().unwrap(), bytes);
    assert!(to_json(&record).contains("\"bodyEncoding\":\"base64\""));
}

#[test]
fn a_body_that_escaping_would_blow_up_is_kept_as_base64_and_fits() {
    // Regression: 256 KiB of control characters became a
    // record of 1.5 MiB once JSON-escaped.
    let body: Vec<u8> = (0..256 * 1024).map(|i| (i % 31 + 1) as u8).collect();
    let errors = (0..5000)
        .map(|i| FieldError::new(format!("f{i}\u{1}"), "\u{1}".repeat(600)))
        .collect();
    let record = record_of("artemis", "t".into(), &incoming(&body), &Rejection::Invalid(errors));
    assert_eq!(record.body_encoding.as_deref(), Some("base64"));
    assert_eq!(record.body_bytes().unwrap(), body);
    assert_eq!(record.errors_truncated, Some(4900));
    assert!(to_json(&record).len() <= MAX_RECORD_BYTES, "{}", to_json(&record).len());
    let plain = record_of("artemis", "t".into(), &incoming(b"{\"a\":\"\x01\"}"), &invalid());
    assert_eq!(plain.body_encoding, None, "a small body stays readable text");
}

#[test]
fn a_body_over_the_limit_is_cut_whatever_the_refusal() {
    // Found by the whole-pipeline property test: a 401 kept behind an
    // allowlist (checked before the size) held a body of any size.
    let body = vec![b'x'; crate::ingress::request::BODY_LIMIT_CEILING + 1];
    let record = record_of("artemis", "t".into(), &incoming(&body), &Rejection::Unauthorized);
    assert_eq!(record.body_truncated_from, Some(body.len()));
    assert_eq!(record.body.len(), MAX_KEPT_BODY);
    let limit = vec![b'x'; crate::ingress::request::BODY_LIMIT_CEILING];
    let whole = record_of("artemis", "t".into(), &incoming(&limit), &Rejection::Unauthorized);
    assert_eq!(whole.body_truncated_from, None, "a body within the limit is kept whole");
}
