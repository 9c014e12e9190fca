//! What came in, independent of the front door (REST v1, HTTP API v2,
//! function URL, ALB): method, path, query, headers, body bytes and the
//! caller's address as the AWS front door reports it.

use std::net::IpAddr;

use lambda_http::http::{HeaderMap, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

/// The largest `MAX_BODY_BYTES` for which "nothing is lost" holds: an event
/// can grow up to about fourfold once normalized (`1e15` is written
/// `1000000000000000.0`; the subject is written twice), and its SQS message
/// holds 1 MiB; the quarantine record holds the body in base64 (+⅓) beside
/// up to 100 problems and the headers. So the default is also the maximum.
pub(crate) const BODY_LIMIT_CEILING: usize = 256 * 1024;

/// A request as the pipeline reads it, whatever front door it came through.
#[derive(Debug)]
pub struct Incoming {
    /// The HTTP method.
    pub method: Method,
    /// The path as received (not used to route: any path reaches the function).
    pub path: String,
    /// Query parameters, first value of each name.
    pub query: Vec<(String, String)>,
    /// The headers as received.
    pub headers: HeaderMap,
    /// The address as reported (kept for quarantine even when it does not parse).
    pub source_ip: Option<String>,
    /// The body, decoded from base64 when the front door sent it so.
    pub body: Vec<u8>,
    /// The X-Ray trace header Lambda handed this invocation, passed on to SQS
    /// (`AWSTraceHeader`) so a consumer's trace links to the webhook.
    pub trace_header: Option<String>,
    /// Names this delivery: the front door's request id (REST, HTTP API,
    /// function URL), else Lambda's invocation id (ALB has none of its own).
    /// The Artemis event id is derived from it, and quarantine records keep
    /// it, so a replay of the same request gets the same id.
    pub request_id: String,
}

impl Incoming {
    pub(crate) fn from_request(request: Request) -> Self {
        let source_ip = source_ip(&request);
        let trace_header = request
            .lambda_context_ref()
            .and_then(|context| context.xray_trace_id.clone());
        let request_id = front_door_request_id(&request)
            .or_else(|| request.lambda_context_ref().map(|context| context.request_id.clone()))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(local_request_id);
        let query = request
            .query_string_parameters_ref()
            .map(|q| q.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .unwrap_or_default();
        let (parts, body) = request.into_parts();
        let body = match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            // `Body` is non-exhaustive; a future kind still keeps its bytes.
            #[allow(unreachable_patterns)]
            other => other.as_ref().to_vec(),
        };
        Self {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query,
            headers: parts.headers,
            source_ip,
            body,
            trace_header,
            request_id,
        }
    }

    /// A Lambda event no front-door format could read, kept whole as the
    /// body (reason `unreadable-event`): its method when the event names one.
    pub(crate) fn raw_event(event: &[u8], context: &lambda_http::Context) -> Self {
        let value: serde_json::Value = serde_json::from_slice(event).unwrap_or_default();
        let method = [&value["httpMethod"], &value["requestContext"]["http"]["method"]]
            .iter()
            .find_map(|m| m.as_str().and_then(|m| Method::from_bytes(m.as_bytes()).ok()))
            .unwrap_or(Method::POST);
        Self {
            method,
            path: String::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            source_ip: None,
            body: event.to_vec(),
            trace_header: context.xray_trace_id.clone(),
            request_id: context.request_id.clone(),
        }
    }

    /// The caller's address, parsed; `None` when absent or malformed.
    pub(crate) fn source_addr(&self) -> Option<IpAddr> {
        self.source_ip.as_deref().and_then(|ip| ip.trim().parse().ok())
    }

    /// A header's value when it is visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `application/json` or any `+json` type (which covers the CloudEvents
/// `application/cloudevents+json` and `application/cloudevents-batch+json`).
pub(crate) fn is_json_media_type(media_type: &str) -> bool {
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// The source address from the request context: `identity.sourceIp` (REST),
/// `http.sourceIp` (HTTP API, function URL). ALB has no such field: there the right-most `X-Forwarded-For` entry is the one the load
/// balancer appended (everything left of it is client-controlled).
fn source_ip(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.clone(),
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        RequestContext::Alb(_) => rightmost_forwarded_for(request.headers()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn front_door_request_id(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.request_id.clone(),
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        _ => None,
    }
}

/// A request id for an event that came without one (a hand-made event, no
/// Lambda context): unique within this machine and time.
fn local_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "local-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The right-most entry of every `X-Forwarded-For` header taken together (a
/// client can send several headers; the balancer's entry is the last one).
fn rightmost_forwarded_for(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<_>>()?;
    rightmost_entry(&values)
}

/// The right-most entry of comma-separated `X-Forwarded-For` values taken
/// together (also read from raw events: [`crate::ingress::redact::RawSender`]).
pub(crate) fn rightmost_entry<S: AsRef<str>>(values: &[S]) -> Option<String> {
    let last = values.last()?.as_ref();
    let entry = last.rsplit(',').next()?.trim();
    (!entry.is_empty()).then(|| entry.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balancers_entry_is_the_right_most_of_all_forwarded_for_headers() {
        let mut headers = HeaderMap::new();
        for value in ["198.51.100.1, 10.0.0.1", "203.0.113.9"] {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        assert_eq!(rightmost_forwarded_for(&headers).as_deref(), Some("203.0.113.9"));
        let mut spoofed = HeaderMap::new();
        for value in ["203.0.113.9", "198.51.100.1,"] {
            spoofed.append("x-forwarded-for", value.parse().unwrap());
        }
        assert_eq!(
            rightmost_forwarded_for(&spoofed),
            None,
            "an empty last entry is no address"
        );
        assert_eq!(rightmost_forwarded_for(&HeaderMap::new()), None);
    }

    #[test]
    fn json_media_types() {
        assert_eq!(media_type("Application/JSON; charset=utf-8"), "application/json");
        for yes in [
            "application/json",
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "text/json+json",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn forwarded_for_takes_the_load_balancers_entry() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 10.0.0.1".parse().unwrap());
        headers.append("x-forwarded-for", "1.1.1.1,  198.51.100.4 ".parse().unwrap());
        assert_eq!(rightmost_forwarded_for(&headers).as_deref(), Some("198.51.100.4"));
        assert_eq!(rightmost_forwarded_for(&HeaderMap::new()), None);
    }
}
