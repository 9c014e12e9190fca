//! A fault-injecting HTTP proxy between the functions' SQS client and moto,
//! on loopback. Each rule applies to requests whose body names a queue URL
//! containing `queue` (SQS's JSON protocol carries `QueueUrl` in the body), or
//! to every request; requests no rule matches are forwarded unchanged.

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
}

struct Rule {
    queue: Option<String>,
    fault: Fault,
    seen: AtomicUsize,
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
        let Some(rule) = rule else { return forward().await };
        let seen = rule.seen.fetch_add(1, Ordering::SeqCst);
        match &rule.fault {
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
        }
    }
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
