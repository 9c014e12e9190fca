//! Real Lambda events for each front door, as AWS delivers them: API Gateway
//! REST (payload 1.0), HTTP API (2.0), Lambda function URL (2.0) and ALB.

use base64::Engine;
use serde_json::{json, Map, Value};

/// Percent-encodes a query component, as API Gateway does in `rawQueryString`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How a request reaches the function: the event format of each front door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontDoor {
    /// API Gateway REST API (payload 1.0).
    RestV1,
    /// API Gateway HTTP API (payload 2.0).
    HttpV2,
    /// A Lambda function URL (payload 2.0, no route).
    FunctionUrl,
    /// An Application Load Balancer target group.
    Alb,
}

impl FrontDoor {
    pub const ALL: [FrontDoor; 4] = [
        FrontDoor::RestV1,
        FrontDoor::HttpV2,
        FrontDoor::FunctionUrl,
        FrontDoor::Alb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FrontDoor::RestV1 => "rest-v1",
            FrontDoor::HttpV2 => "http-v2",
            FrontDoor::FunctionUrl => "function-url",
            FrontDoor::Alb => "alb",
        }
    }
}

/// One HTTP call, before a front door turns it into a Lambda event.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
    /// The front door's request id; each event gets a fresh one unless set.
    pub request_id: Option<String>,
}

/// A request id as API Gateway gives each delivery: never the same twice.
fn fresh_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("req-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl Call {
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Call {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            query: Vec::new(),
            body: body.into(),
            source_ip: "203.0.113.9".into(),
            request_id: None,
        }
    }

    /// Delivers with this front-door request id (a replay of one delivery).
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_owned());
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }

    /// Sets a header (replacing one of the same name); an empty value removes it.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        if !value.is_empty() {
            self.headers.push((name, value.into()));
        }
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn from_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.into();
        self
    }

    fn body_fields(&self) -> (Value, bool) {
        match std::str::from_utf8(&self.body) {
            _ if self.body.is_empty() => (Value::Null, false),
            Ok(text) => (Value::String(text.into()), false),
            Err(_) => (
                Value::String(base64::engine::general_purpose::STANDARD.encode(&self.body)),
                true,
            ),
        }
    }

    fn header_map(&self, extra: &[(&str, String)]) -> Map<String, Value> {
        let mut map = Map::new();
        for (name, value) in self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .chain(extra.iter().cloned())
        {
            map.insert(name.to_owned(), Value::String(value));
        }
        map
    }

    fn query_map(&self) -> Value {
        if self.query.is_empty() {
            return Value::Null;
        }
        Value::Object(
            self.query
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }

    fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The Lambda event this call becomes behind `door`.
    pub fn event(&self, door: FrontDoor) -> Value {
        let (body, is_base64) = self.body_fields();
        let request_id = self.request_id.clone().unwrap_or_else(fresh_request_id);
        match door {
            FrontDoor::RestV1 => {
                let headers = self.header_map(&[]);
                let multi: Map<String, Value> = headers.iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
                let multi_query = match self.query_map() {
                    Value::Object(q) => Value::Object(q.into_iter().map(|(k, v)| (k, json!([v]))).collect()),
                    other => other,
                };
                json!({
                    "resource": self.path, "path": self.path, "httpMethod": self.method,
                    "headers": headers, "multiValueHeaders": multi,
                    "queryStringParameters": self.query_map(), "multiValueQueryStringParameters": multi_query,
                    "pathParameters": null, "stageVariables": null,
                    "requestContext": {
                        "accountId": "123456789012", "resourceId": "r1", "stage": "prod", "requestId": request_id,
                        "identity": { "sourceIp": self.source_ip, "userAgent": "test" },
                        "resourcePath": self.path, "httpMethod": self.method, "apiId": "api1",
                        "path": format!("/prod{}", self.path), "protocol": "HTTP/1.1", "requestTimeEpoch": 1795000000000u64
                    },
                    "body": body, "isBase64Encoded": is_base64
                })
            }
            FrontDoor::HttpV2 | FrontDoor::FunctionUrl => {
                let (route, domain) = if door == FrontDoor::HttpV2 {
                    (
                        format!("{} {}", self.method, self.path),
                        "api1.execute-api.us-east-1.amazonaws.com".to_owned(),
                    )
                } else {
                    (
                        "$default".to_owned(),
                        "abcdefghij.lambda-url.us-east-1.on.aws".to_owned(),
                    )
                };
                json!({
                    "version": "2.0", "routeKey": route, "rawPath": self.path, "rawQueryString": self.raw_query(),
                    "headers": self.header_map(&[]), "queryStringParameters": self.query_map(),
                    "requestContext": {
                        "accountId": "123456789012", "apiId": "api1", "domainName": domain, "domainPrefix": "api1",
                        "http": { "method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": self.source_ip, "userAgent": "test" },
                        "requestId": request_id, "routeKey": route, "stage": "$default",
                        "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1795000000000u64
                    },
                    "body": body, "isBase64Encoded": is_base64
                })
            }
            FrontDoor::Alb => {
                // A client-supplied X-Forwarded-For is kept on the left; the
                // load balancer appends the real peer on the right.
                let forwarded = match self.headers.iter().find(|(n, _)| n == "x-forwarded-for") {
                    Some((_, spoofed)) => format!("{spoofed}, {}", self.source_ip),
                    None => self.source_ip.clone(),
                };
                json!({
                    "requestContext": { "elb": { "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/hooks/0123456789abcdef" } },
                    "httpMethod": self.method, "path": self.path,
                    "queryStringParameters": match self.query_map() { Value::Null => json!({}), q => q },
                    "headers": self.header_map(&[("x-forwarded-for", forwarded)]),
                    "body": body, "isBase64Encoded": is_base64
                })
            }
        }
    }

    /// The `lambda_http` request for this call behind `door`.
    pub fn request(&self, door: FrontDoor) -> lambda_http::Request {
        lambda_http::request::from_str(&self.event(door).to_string()).expect("a valid Lambda HTTP event")
    }
}
