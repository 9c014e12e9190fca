//! Any bytes as an Amlyze request. The first byte picks the mode (binary,
//! structured, batch); up to the first NUL, `name:value` lines become `Ce-*`
//! headers; the rest is the body.
#![no_main]

use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else { return };
    let (head, body) = match rest.iter().position(|b| *b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    let content_type = ["application/json", "application/cloudevents+json", "application/cloudevents-batch+json"];
    headers.insert("content-type", HeaderValue::from_static(content_type[usize::from(*mode) % 3]));
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let name = [b"ce-".as_slice(), &line[..colon]].concat();
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(&name), HeaderValue::from_bytes(&line[colon + 1..])) {
            headers.insert(name, value);
        }
    }
    match intake::testing::amlyze::parse(&headers, body, OffsetDateTime::UNIX_EPOCH) {
        Ok(parsed) => assert!(!parsed.events.is_empty()),
        Err(errors) => assert!(!errors.is_empty()),
    }
});
