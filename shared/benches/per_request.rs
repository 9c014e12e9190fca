//! The per-request CPU path, no I/O: parse, validate, normalize and serialize
//! the queue message. `cargo bench -p intake --bench per_request` (make bench).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use intake::testing::Outbound;
use intake::testing::{amlyze, artemis};
use lambda_http::http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");

fn binary_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("ce-id", "0412a5ca-3be7-46b7-87de-38366397602e"),
        ("ce-source", "customer"),
        ("ce-type", "com.amlyze.customer.updated"),
        ("ce-specversion", "1.0"),
        ("ce-subject", "82deaa92-d559-40bd-96b7-053341a08e28"),
        ("ce-time", "2026-03-10t12:53:45.85z"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

fn per_request(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    c.bench_function("artemis: parse + validate + normalize + serialize", |b| {
        b.iter(|| {
            let events = artemis::parse(black_box(INSERT.as_bytes()), now, "req-1").expect("valid");
            events
                .events
                .into_iter()
                .map(|event| Outbound::new(event, false, None))
                .map(|m| m.message.size())
                .sum::<usize>()
        })
    });
    let headers = binary_headers();
    c.bench_function("amlyze binary mode: parse + validate + normalize + serialize", |b| {
        b.iter(|| {
            let events = amlyze::parse(black_box(&headers), black_box(AMLYZE.as_bytes()), now).expect("valid");
            events
                .events
                .into_iter()
                .map(|event| Outbound::new(event, false, None))
                .map(|m| m.message.size())
                .sum::<usize>()
        })
    });
    let invalid = br#"{"customerId": "1", "status": 5, "customerType": null}"#;
    c.bench_function("artemis invalid: every error collected", |b| {
        b.iter(|| {
            artemis::parse(black_box(invalid), now, "req-1")
                .expect_err("invalid")
                .len()
        })
    });
}

criterion_group!(benches, per_request);
criterion_main!(benches);
