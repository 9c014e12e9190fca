//! A fault-injecting HTTP proxy between the functions' SQS client and moto,
//! on loopback. Each rule applies to requests whose body names a queue URL
//! containing `queue` (SQS's JSON protocol carries `QueueUrl` in the body), or
//! to every request; requests no rule matches are forwarded unchanged.
//!
//! It is also **strict**: moto stores messages real SQS refuses, so every
//! `SendMessage` and `SendMessageBatch` passing through is checked against the
//! contract's SQS limits (`platform::sqs`). A breach is recorded (see
//! [`violations`]; the queue readers fail the test on any for their queue)
//! and refused with SQS's `InvalidParameterValue`, never stored.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use platform::sqs::Message;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub enum Fault {
    /// Close the connection without an answer (a refused or reset connection).
    Drop,
    /// Answer this HTTP status with an SQS-style JSON error.
    Status(u16, &'static str),
    /// Answer as SQS does when throttling.
    Throttle,
    /// Wait, then forward (SQS slower than the function's budget).
    Delay(Duration),
    /// Forward, let SQS accept, then close the connection without passing the
    /// answer on (the send succeeded but the client cannot know).
    LoseResponse,
    /// Fail the first `n` matching requests with 503, then forward.
    FailFirst(usize),
    /// Throttle every `n`-th matching request, as SQS (`RequestThrottled`)
    /// or Firehose (`ServiceUnavailableException`) does; forward the rest.
    ThrottleEvery(usize),
    /// Firehose past its quota: every `calls`-th `PutRecordBatch` is
    /// throttled whole, and of the others every `records`-th record fails
    /// alone with `ServiceUnavailableException` (the rest reach the stream).
    FirehoseQuota { calls: usize, records: usize },
    /// Take the request and never answer, holding the connection open until
    /// the client gives up (a hanging service, not a refusing one).
    Hang,
}

struct Rule {
    queue: Option<String>,
    fault: Fault,
    seen: AtomicUsize,
    /// Records a [`Fault::FirehoseQuota`] rule has seen, across calls.
    records: AtomicUsize,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    rules: Arc<Mutex<Vec<Arc<Rule>>>>,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint).
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr: SocketAddr = listener.local_addr().expect("proxy address");
        let proxy = FaultProxy {
            endpoint: format!("http://{addr}"),
            rules: Arc::new(Mutex::new(Vec::new())),
            requests: Arc::new(AtomicUsize::new(0)),
            connections: Arc::new(AtomicUsize::new(0)),
        };
        let upstream = upstream.trim_end_matches('/').to_owned();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let state = proxy.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                state.connections.fetch_add(1, Ordering::SeqCst);
                let (state, upstream, client) = (state.clone(), upstream.clone(), client.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (state, upstream, client) = (state.clone(), upstream.clone(), client.clone());
                        async move { state.handle(request, &upstream, &client).await }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        proxy
    }

    /// Applies `fault` to requests for queues whose URL contains `queue` (all when `None`).
    pub fn inject(&self, queue: Option<&str>, fault: Fault) {
        let rule = Rule {
            queue: queue.map(str::to_owned),
            fault,
            seen: AtomicUsize::new(0),
            records: AtomicUsize::new(0),
        };
        self.rules.lock().expect("rules").push(Arc::new(rule));
    }

    pub fn clear(&self) {
        self.rules.lock().expect("rules").clear();
    }

    /// How many requests a fault rule caught (attempts the SDK made into a fault).
    pub fn faulted(&self) -> usize {
        self.rules
            .lock()
            .expect("rules")
            .iter()
            .map(|r| r.seen.load(Ordering::SeqCst))
            .sum()
    }

    /// Every request the proxy received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Every connection a client opened to the proxy.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    async fn handle(
        &self,
        request: Request<Incoming>,
        upstream: &str,
        client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let (parts, body) = request.into_parts();
        let body = crate::read_body(body).await;
        let text = String::from_utf8_lossy(&body);
        let rule = {
            let rules = self.rules.lock().expect("rules");
            rules
                .iter()
                .find(|r| r.queue.as_deref().is_none_or(|q| text.contains(q)))
                .cloned()
        };
        let forward = || async {
            let mut builder = Request::builder()
                .method(parts.method.clone())
                .uri(format!("{upstream}{}", parts.uri.path()));
            for (name, value) in &parts.headers {
                if name != "host" {
                    builder = builder.header(name, value);
                }
            }
            let request = builder.body(Full::new(body.clone())).map_err(std::io::Error::other)?;
            let response = client.request(request).await.map_err(std::io::Error::other)?;
            let (mut parts, body) = response.into_parts();
            // Hop-by-hop headers are not forwarded (RFC 9110 7.6.1): moto answers
            // `Connection: close`, which would otherwise close the client's
            // connection after every request.
            for name in ["connection", "keep-alive", "transfer-encoding"] {
                parts.headers.remove(name);
            }
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(Response::from_parts(parts, Full::new(body)))
        };
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default();
        if let Some(breach) = strict_check(target, &body) {
            return Ok(error(400, "InvalidParameterValue").map(|_| Full::new(Bytes::from(breach))));
        }
        let Some(rule) = rule else { return forward().await };
        let seen = rule.seen.fetch_add(1, Ordering::SeqCst);
        match &rule.fault {
            Fault::Hang => std::future::pending().await,
            // An error from the service makes hyper close the connection unanswered.
            Fault::Drop => Err(std::io::Error::other("fault: connection dropped")),
            Fault::Status(status, code) => Ok(error(*status, code)),
            Fault::Throttle => Ok(error(400, "RequestThrottled")),
            Fault::Delay(delay) => {
                tokio::time::sleep(*delay).await;
                forward().await
            }
            Fault::LoseResponse => {
                forward().await?;
                Err(std::io::Error::other("fault: response lost"))
            }
            Fault::FailFirst(n) if seen < *n => Ok(error(503, "ServiceUnavailable")),
            Fault::FailFirst(_) => forward().await,
            Fault::ThrottleEvery(n) if seen % n.max(&1) == n.saturating_sub(1) => Ok(throttled(target)),
            Fault::ThrottleEvery(_) => forward().await,
            Fault::FirehoseQuota { calls, .. } if seen % calls.max(&1) == calls.saturating_sub(1) => {
                Ok(throttled(target))
            }
            Fault::FirehoseQuota { records, .. } => {
                let every = (*records).max(1);
                let Some(split) = split_records(&body, |_| {
                    rule.records.fetch_add(1, Ordering::SeqCst) % every == every - 1
                }) else {
                    return forward().await;
                };
                let upstream_answer = match &split.forwarded {
                    Some(forwarded) => {
                        let mut builder = Request::builder()
                            .method(parts.method.clone())
                            .uri(format!("{upstream}{}", parts.uri.path()));
                        for (name, value) in &parts.headers {
                            if name != "host" && name != "content-length" {
                                builder = builder.header(name, value);
                            }
                        }
                        let request = builder
                            .body(Full::new(Bytes::from(forwarded.clone())))
                            .map_err(std::io::Error::other)?;
                        let response = client.request(request).await.map_err(std::io::Error::other)?;
                        let bytes = response
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .map_err(std::io::Error::other)?;
                        serde_json::from_slice(&bytes).unwrap_or_default()
                    }
                    None => serde_json::Value::Null,
                };
                Ok(merged_answer(&split.throttled, &upstream_answer))
            }
        }
    }
}

/// What the service answers a throttled call: SQS `RequestThrottled`, or
/// Firehose `ServiceUnavailableException` ("Slow down.").
fn throttled(target: &str) -> Response<Full<Bytes>> {
    if target.starts_with("Firehose") {
        error(503, "ServiceUnavailableException")
    } else {
        error(400, "RequestThrottled")
    }
}

/// A `PutRecordBatch` split by a per-record choice: which records (by
/// index) are throttled, and the request that forwards the others (none when
/// every record is throttled).
struct Split {
    throttled: Vec<bool>,
    forwarded: Option<Vec<u8>>,
}

fn split_records(body: &[u8], mut throttle: impl FnMut(usize) -> bool) -> Option<Split> {
    let mut request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let records = request["Records"].as_array()?.clone();
    let throttled: Vec<bool> = (0..records.len()).map(&mut throttle).collect();
    let kept: Vec<serde_json::Value> = records
        .into_iter()
        .zip(&throttled)
        .filter(|(_, t)| !**t)
        .map(|(r, _)| r)
        .collect();
    let forwarded = (!kept.is_empty()).then(|| {
        request["Records"] = serde_json::Value::Array(kept);
        request.to_string().into_bytes()
    });
    Some(Split { throttled, forwarded })
}

/// Firehose's answer for the whole batch: the stream's answers for the
/// records it was given, in order, and `ServiceUnavailableException` for the
/// throttled ones.
fn merged_answer(throttled: &[bool], upstream: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut taken = upstream["RequestResponses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    let responses: Vec<serde_json::Value> = throttled
        .iter()
        .map(|throttled| match throttled {
            true => serde_json::json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}),
            false => taken.next().unwrap_or_else(
                || serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "no answer upstream"}),
            ),
        })
        .collect();
    let failed = responses.iter().filter(|r| r.get("ErrorCode").is_some()).count();
    let body = serde_json::json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses});
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1".parse().expect("static"));
    response
}

fn error(status: u16, code: &str) -> Response<Full<Bytes>> {
    let body = format!("{{\"__type\":\"com.amazonaws.sqs#{code}\",\"message\":\"injected fault\"}}");
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", "application/x-amz-json-1.0".parse().expect("static"));
    headers.insert("x-amzn-query-error", format!("{code};Sender").parse().expect("ascii"));
    response
}

/// A rule of real SQS that a request broke, with the queue it was for.
#[derive(Debug, Clone)]
pub struct Violation {
    pub queue_url: String,
    pub what: String,
}

static VIOLATIONS: Mutex<Vec<Violation>> = Mutex::new(Vec::new());
/// Every message a strict proxy passed on, by queue URL, as it was on the wire.
static SENT: Mutex<Vec<(String, Message)>> = Mutex::new(Vec::new());

/// The messages sent to `queue_url`, as the SDK put them on the wire. moto
/// drops what it does not model (the `AWSTraceHeader` of a batch entry), so
/// this is where a test sees what the function really sent.
pub fn sent_to(queue_url: &str) -> Vec<Message> {
    SENT.lock()
        .map(|sent| {
            sent.iter()
                .filter(|(q, _)| q == queue_url)
                .map(|(_, m)| m.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Every breach of SQS's rules any strict proxy in this process saw.
pub fn violations() -> Vec<Violation> {
    VIOLATIONS.lock().map(|v| v.clone()).unwrap_or_default()
}

/// The breaches for one queue.
pub fn violations_for(queue_url: &str) -> Vec<Violation> {
    violations().into_iter().filter(|v| v.queue_url == queue_url).collect()
}

/// Checks a send against the contract's SQS limits and the queue's JSON Schema
/// ([`crate::schemas`]); returns the error body to
/// answer when it breaks one (and records the breach).
fn strict_check(target: &str, body: &[u8]) -> Option<String> {
    let batch = match target {
        "AmazonSQS.SendMessage" => false,
        "AmazonSQS.SendMessageBatch" => true,
        "Firehose_20150804.PutRecordBatch" => return firehose_check(body),
        "Firehose_20150804.PutRecord" => return Some("the functions only use PutRecordBatch".to_owned()),
        _ => return None,
    };
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let queue_url = request["QueueUrl"].as_str().unwrap_or_default().to_owned();
    let fifo = queue_url.ends_with(".fifo");
    let entries: Vec<Message> = if batch {
        request["Entries"]
            .as_array()
            .map(|e| e.iter().map(wire_message).collect())
            .unwrap_or_default()
    } else {
        vec![wire_message(&request)]
    };
    let mut found = if batch {
        platform::sqs::batch_violations(&entries, fifo)
    } else {
        entries[0].violations(fifo)
    };
    found.extend(
        entries
            .iter()
            .filter_map(|m| crate::schemas::check_message(&queue_url, m).err()),
    );
    if found.is_empty() {
        if let Ok(mut sent) = SENT.lock() {
            sent.extend(entries.into_iter().map(|m| (queue_url.clone(), m)));
        }
        return None;
    }
    let what = found.join("; ");
    VIOLATIONS.lock().ok()?.push(Violation {
        queue_url,
        what: what.clone(),
    });
    Some(serde_json::json!({"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": what}).to_string())
}

/// Checks a `PutRecordBatch` against Firehose's limits (`intake::archive`);
/// moto's Firehose has none.
fn firehose_check(body: &[u8]) -> Option<String> {
    use base64::Engine;
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let stream = request["DeliveryStreamName"].as_str().unwrap_or_default().to_owned();
    let records: Vec<Vec<u8>> = request["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| {
                    base64::engine::general_purpose::STANDARD
                        .decode(r["Data"].as_str().unwrap_or_default())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let found = intake::kept::batch_violations(&records);
    if found.is_empty() {
        return None;
    }
    let what = found.join("; ");
    VIOLATIONS.lock().ok()?.push(Violation {
        queue_url: stream,
        what: what.clone(),
    });
    Some(serde_json::json!({"__type": "InvalidArgumentException", "message": what}).to_string())
}

/// A message as the SDK put it on the wire (SQS JSON protocol).
fn wire_message(entry: &serde_json::Value) -> Message {
    let text = |key: &str| entry[key].as_str().map(str::to_owned);
    let attributes = entry["MessageAttributes"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(name, value)| {
                    (
                        name.clone(),
                        value["StringValue"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Message {
        body: text("MessageBody").unwrap_or_default(),
        attributes,
        group_id: text("MessageGroupId"),
        deduplication_id: text("MessageDeduplicationId"),
        trace_header: entry["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"]
            .as_str()
            .map(str::to_owned),
    }
}

/// A TCP endpoint in front of a service that can be switched between
/// forwarding and a blackhole: while blackholed it accepts every connection
/// and reads what the client sends, but never answers and never closes (a
/// hanging service, unlike a refused or reset connection). Connections
/// already open stop forwarding too: their next request is swallowed.
/// Connections taken while blackholed stay so until the client closes them.
#[derive(Clone)]
pub struct Blackhole {
    pub endpoint: String,
    blackholed: Arc<std::sync::atomic::AtomicBool>,
    held: Arc<AtomicUsize>,
}

impl Blackhole {
    /// Listens on loopback in front of `upstream` (`http://host:port`),
    /// blackholed from the start when `blackholed`.
    pub async fn start(upstream: &str, blackholed: bool) -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind blackhole");
        let addr: SocketAddr = listener.local_addr().expect("blackhole address");
        let hole = Blackhole {
            endpoint: format!("http://{addr}"),
            blackholed: Arc::new(std::sync::atomic::AtomicBool::new(blackholed)),
            held: Arc::new(AtomicUsize::new(0)),
        };
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let state = hole.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, upstream) = (state.clone(), upstream.clone());
                tokio::spawn(async move { state.serve(stream, &upstream).await });
            }
        });
        hole
    }

    /// Swallows everything from now on.
    pub fn blackhole(&self) {
        self.blackholed.store(true, Ordering::SeqCst);
    }

    /// Forwards new connections (and requests) to the service again.
    pub fn heal(&self) {
        self.blackholed.store(false, Ordering::SeqCst);
    }

    /// Connections the blackhole has taken and not answered (ever).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    async fn serve(&self, mut client: tokio::net::TcpStream, upstream: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if self.blackholed.load(Ordering::SeqCst) {
            return self.swallow(client).await;
        }
        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
            return;
        };
        let (mut from_server, mut to_server) = server.into_split();
        let (mut from_client, mut to_client) = client.split();
        let upward = async {
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = match from_client.read(&mut buffer).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => n,
                };
                if self.blackholed.load(Ordering::SeqCst) {
                    return true;
                }
                if to_server.write_all(&buffer[..n]).await.is_err() {
                    return false;
                }
            }
        };
        let downward = tokio::io::copy(&mut from_server, &mut to_client);
        let swallowed = tokio::select! {
            swallowed = upward => swallowed,
            _ = downward => false,
        };
        if swallowed {
            drop((from_server, to_server));
            self.swallow(client).await;
        }
    }

    /// Reads and discards until the client closes; never writes.
    async fn swallow(&self, mut client: tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        self.held.fetch_add(1, Ordering::SeqCst);
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = client.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    }
}
