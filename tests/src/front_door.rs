//! The local stack's HTTP front door, as plain functions: a plain HTTP
//! request becomes the HTTP API 2.0 event a function URL would deliver, and
//! a function's response document becomes HTTP again.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::{json, Map, Value};

/// What an HTTP request to the local stack was, in the parts the event needs.
pub struct PlainRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: IpAddr,
}

/// The HTTP API 2.0 event for a whole request that came from `peer`.
pub async fn event_of(request: hyper::Request<hyper::body::Incoming>, peer: IpAddr) -> Value {
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let body = crate::read_body(body).await;
    http_api_event(&PlainRequest {
        method: parts.method.as_str(),
        path: &path,
        raw_query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body: &body,
        peer,
    })
}

/// The HTTP API 2.0 event for `request` (a repeated header joined by commas,
/// the query decoded, a body that is not UTF-8 in base64).
pub fn http_api_event(request: &PlainRequest) -> Value {
    let mut headers = Map::new();
    for name in request.headers.keys() {
        let joined: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::String(joined.join(",")));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let query: Map<String, Value> = request
        .raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), Value::String(decode(v)))
        })
        .collect();
    let (body, is_base64) = match std::str::from_utf8(request.body) {
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(request.body)), true),
    };
    let (method, path) = (request.method, request.path);
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": request.raw_query,
        "headers": headers, "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": request.peer.to_string(), "userAgent": "local" },
            "requestId": "local", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
        },
        "body": body, "isBase64Encoded": is_base64
    })
}

/// The HTTP response for a function's response document; no document (the
/// function failed, or answered something else) is API Gateway's 502.
pub fn http_response(document: Option<&Value>) -> Response<Full<Bytes>> {
    let document = document.unwrap_or(&Value::Null);
    let status = document["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let body = match (document["body"].as_str(), document["isBase64Encoded"].as_bool()) {
        (Some(text), Some(true)) => STANDARD.decode(text).unwrap_or_default(),
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, _) => Vec::new(),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    for (name, value) in document["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_becomes_an_http_api_event_and_its_answer_http_again() {
        let mut headers = HeaderMap::new();
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        let request = PlainRequest {
            method: "POST",
            path: "/hooks/artemis",
            raw_query: "token=a%20b&x=1+2",
            headers: &headers,
            body: &[0xff, 0x00],
            peer: "203.0.113.9".parse().unwrap(),
        };
        let event = http_api_event(&request);
        assert_eq!(event["headers"]["x-tag"], "a,b");
        assert_eq!(event["queryStringParameters"], json!({"token": "a b", "x": "1 2"}));
        assert_eq!(event["rawQueryString"], "token=a%20b&x=1+2");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "/wA=");
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "203.0.113.9");

        let document = json!({"statusCode": 202, "headers": {"content-type": "application/json"}, "body": "{}"});
        let response = http_response(Some(&document));
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(http_response(None).status(), StatusCode::BAD_GATEWAY);
    }
}
