//! A small Lambda Runtime API emulator (the `2018-06-01` API that
//! `lambda_runtime` polls), and a runner for the built function binaries.
//!
//! `RuntimeApi::start` listens on loopback; `Function::spawn` ([`crate::function`]) runs a binary
//! with `AWS_LAMBDA_RUNTIME_API` pointing at it; `RuntimeApi::invoke` hands an
//! event to the function and waits for its response.
//!
//! It has Lambda's limits, which a home-made emulator otherwise lacks: a
//! response over 6 MB is refused (the caller gets API Gateway's 502), an
//! invocation ends at the template's 15 s timeout, and each function runs in
//! a memory cgroup holding it to the template's 256 MB (where cgroups can be
//! made; see [`Function::spawn`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};

const PREFIX: &str = "/2018-06-01/runtime";
/// The template's `Timeout` and `MemorySize`.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(15);
pub const LAMBDA_MEMORY_MB: u64 = 256;
/// What API Gateway answers when Lambda refused the function's response.
pub const GATEWAY_502: &str = r#"{"statusCode":502,"headers":{"content-type":"application/json"},"body":"{\"message\": \"Internal server error\"}","isBase64Encoded":false}"#;
/// The X-Ray trace header the emulator hands every invocation.
pub const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// What the function answered: its response document, or the error it posted.
pub type Outcome = Result<Vec<u8>, String>;

struct Invocation {
    id: String,
    event: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

struct State {
    queue: Mutex<mpsc::Receiver<Invocation>>,
    /// Invocations a function took, with when it took them.
    pending: Mutex<HashMap<String, (oneshot::Sender<Outcome>, Instant)>>,
    init_error: Mutex<Option<String>>,
    /// When the function first asked for an invocation: the end of its init.
    first_poll: std::sync::OnceLock<Instant>,
    /// Run once at the first poll, before it is answered (a full-CPU init
    /// throttled from there on).
    at_first_poll: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    sender: mpsc::Sender<Invocation>,
    state: Arc<State>,
    counter: Arc<AtomicU64>,
}

impl RuntimeApi {
    /// Listens on a free loopback port and serves until the process ends.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(1024);
        let state = Arc::new(State {
            queue: Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            first_poll: std::sync::OnceLock::new(),
            at_first_poll: std::sync::Mutex::new(None),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| route(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi {
            addr,
            sender,
            state,
            counter: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Invokes the function with `event`; waits at most `timeout` in all
    /// (queued behind busy functions, then running). A function that answers
    /// more than Lambda's timeout after taking the invocation gets Lambda's
    /// "Task timed out" instead of its answer.
    pub async fn invoke(&self, event: &[u8], timeout: Duration) -> Outcome {
        // Unique across emulators and runs, as Lambda's request ids are.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!(
            "inv-{}-{nanos}-{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Invocation {
                id,
                event: event.to_vec(),
                reply,
            })
            .await
            .map_err(|_| "the emulator stopped".to_owned())?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err("the invocation was dropped".to_owned()),
            Err(_) => Err(format!("no response within {timeout:?}")),
        }
    }

    /// When the function first polled for an invocation, i.e. finished its
    /// init (Lambda's "Init Duration" ends there).
    pub fn first_poll(&self) -> Option<Instant> {
        self.state.first_poll.get().copied()
    }

    /// Runs `action` when the function first polls, before that poll is
    /// answered: the end of init.
    pub fn on_first_poll(&self, action: impl FnOnce() + Send + 'static) {
        if let Ok(mut slot) = self.state.at_first_poll.lock() {
            *slot = Some(Box::new(action));
        }
    }

    /// The error the function reported at init, if any.
    pub async fn init_error(&self) -> Option<String> {
        self.state.init_error.lock().await.clone()
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn route(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().trim_start_matches(PREFIX).to_owned();
    let body = crate::read_body(request.into_body()).await;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let response = match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => {
            if state.first_poll.set(Instant::now()).is_ok() {
                let action = state.at_first_poll.lock().ok().and_then(|mut slot| slot.take());
                if let Some(action) = action {
                    action();
                }
            }
            let next = state.queue.lock().await.recv().await;
            match next {
                Some(invocation) => {
                    state
                        .pending
                        .lock()
                        .await
                        .insert(invocation.id.clone(), (invocation.reply, Instant::now()));
                    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + LAMBDA_TIMEOUT;
                    let mut response = reply(StatusCode::OK, invocation.event);
                    let headers = response.headers_mut();
                    headers.insert(
                        "lambda-runtime-aws-request-id",
                        invocation.id.parse().expect("ascii id"),
                    );
                    headers.insert(
                        "lambda-runtime-deadline-ms",
                        deadline.as_millis().to_string().parse().expect("digits"),
                    );
                    headers.insert(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:local"
                            .parse()
                            .expect("ascii arn"),
                    );
                    headers.insert("lambda-runtime-trace-id", TRACE_ID.parse().expect("ascii"));
                    response
                }
                None => reply(StatusCode::GONE, "shutting down"),
            }
        }
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let too_large = body.len() > platform::sqs::MAX_RESPONSE_BYTES;
            let outcome = if too_large {
                // Lambda refuses it; API Gateway answers its own 502.
                eprintln!(
                    "emulator: a response of {} bytes, over Lambda's 6 MB, was refused",
                    body.len()
                );
                Ok(GATEWAY_502.as_bytes().to_vec())
            } else if *kind == "response" {
                Ok(body.to_vec())
            } else {
                Err(String::from_utf8_lossy(&body).into_owned())
            };
            if let Some((sender, taken)) = state.pending.lock().await.remove(*id) {
                let ran = taken.elapsed();
                let outcome = if ran > LAMBDA_TIMEOUT {
                    Err(format!("Task timed out after {:.2} seconds", ran.as_secs_f64()))
                } else {
                    outcome
                };
                let _ = sender.send(outcome);
            }
            if too_large {
                reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "{\"errorType\":\"RequestEntityTooLarge\"}",
                )
            } else {
                reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
            }
        }
        (Method::POST, ["init", "error"]) => {
            *state.init_error.lock().await = Some(String::from_utf8_lossy(&body).into_owned());
            reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
        }
        _ => reply(StatusCode::NOT_FOUND, "unknown runtime API route"),
    };
    Ok(response)
}

/// Hands `event` to the function behind `api` (20 s at most) and returns its
/// response document.
pub async fn invoke_json(api: &RuntimeApi, event: &serde_json::Value) -> serde_json::Value {
    let response = api
        .invoke(event.to_string().as_bytes(), Duration::from_secs(20))
        .await
        .expect("the function answered");
    serde_json::from_slice(&response).expect("a JSON response document")
}
