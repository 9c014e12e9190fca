//! A minimal SQS endpoint for the warm-latency benchmark, run as its own
//! process (as SQS is to the functions): it speaks the AWS JSON 1.0 protocol
//! the SDK uses (`X-Amz-Target: AmazonSQS.<Action>`) and answers
//! `SendMessage` in microseconds, where moto (one Python process) takes ~10 ms
//! and varies by as much again. With it the latency ratio measures the
//! functions, not moto.
//!
//! With a certificate and key it serves HTTPS (rustls), keeping connections
//! alive as SQS does (moto answers `Connection: close`, so over TLS every
//! call to moto pays a new handshake).
//!
//! It also answers Firehose's `PutRecordBatch` (`X-Amz-Target:
//! Firehose_20150804.PutRecordBatch`, every record taken), for the archive's
//! rows.
//!
//! `STUB_LATENCY_MS` makes every answer wait that long first: a network
//! round trip such as SQS's or Firehose's on AWS, which loopback does not
//! have (calls that overlap then overlap their waits, as they do on AWS).
//!
//! `STUB_THROTTLE=sqs` answers every `SendMessage`/`SendMessageBatch` as SQS
//! does when throttling (`RequestThrottled`); `STUB_THROTTLE=firehose` fails
//! every record of a `PutRecordBatch` alone, as Firehose does past its quota
//! (`ServiceUnavailableException`): for the capacity bench's degraded rows.
//!
//! `STUB_HANG=sqs` (or `firehose`) holds every call to that service open
//! without an answer for a minute, as a service that hangs: for the rows
//! where one service is down and the other well.
//!
//! It stores nothing but a count of the messages sent to each queue URL,
//! which `GetQueueAttributes` reports as `ApproximateNumberOfMessages` (so
//! the benchmark checks that every invocation really sent one). The tests use
//! moto.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use harness::function::dies_with_this_process;
use harness::moto::free_port;

type Counts = Arc<Mutex<HashMap<String, u64>>>;

/// Serves on `addr` until the process ends (the `sqs-stub` binary); over
/// TLS when given a certificate chain and key (PEM files).
pub async fn serve(addr: SocketAddr, tls: Option<(&Path, &Path)>) -> std::io::Result<()> {
    let acceptor = tls.map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
    let listener = TcpListener::bind(addr).await?;
    let counts = Counts::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let counts = counts.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(counts.clone(), request));
            let http = http1::Builder::new();
            let _ = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
                    Err(_) => return,
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
        });
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(std::io::Error::other)?;
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

/// `STUB_LATENCY_MS`, read once.
fn latency() -> Option<Duration> {
    static LATENCY: std::sync::OnceLock<Option<Duration>> = std::sync::OnceLock::new();
    *LATENCY.get_or_init(|| {
        std::env::var("STUB_LATENCY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    })
}

/// `STUB_HANG`, read once: which service never answers.
fn hung_service() -> &'static str {
    static HANG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HANG.get_or_init(|| std::env::var("STUB_HANG").unwrap_or_default())
}

/// `STUB_THROTTLE`, read once: which service throttles everything.
fn throttled_service() -> &'static str {
    static THROTTLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    THROTTLE.get_or_init(|| std::env::var("STUB_THROTTLE").unwrap_or_default())
}

async fn answer(counts: Counts, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(latency) = latency() {
        tokio::time::sleep(latency).await;
    }
    let throttle = throttled_service();
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let action = target.strip_prefix("AmazonSQS.").unwrap_or(&target).to_owned();
    let service = if target.starts_with("Firehose") {
        "firehose"
    } else {
        "sqs"
    };
    if hung_service() == service {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let body = harness::read_body(request.into_body()).await;
    let input: Value = serde_json::from_slice(&body).unwrap_or_default();
    let queue = input["QueueUrl"].as_str().unwrap_or_default().to_owned();
    let mut counts = match counts.lock() {
        Ok(counts) => counts,
        Err(poisoned) => poisoned.into_inner(),
    };
    let response = match action.as_str() {
        "SendMessage" | "SendMessageBatch" if throttle == "sqs" => {
            let mut response = reply(
                StatusCode::BAD_REQUEST,
                json!({ "__type": "com.amazonaws.sqs#RequestThrottled", "message": "Rate exceeded" }),
            );
            response.headers_mut().insert(
                "x-amzn-query-error",
                hyper::header::HeaderValue::from_static("RequestThrottled;Sender"),
            );
            response
        }
        "Firehose_20150804.PutRecordBatch" if throttle == "firehose" => {
            let responses: Vec<Value> = input["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|_| json!({ "ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down." }))
                .collect();
            reply(
                StatusCode::OK,
                json!({ "FailedPutCount": responses.len(), "Encrypted": false, "RequestResponses": responses }),
            )
        }
        "SendMessage" if input["MessageBody"].is_string() => {
            let count = counts.entry(queue).or_default();
            *count += 1;
            reply(
                StatusCode::OK,
                json!({ "MessageId": format!("00000000-0000-4000-8000-{:012x}", *count) }),
            )
        }
        "SendMessageBatch" if input["Entries"].is_array() => {
            let count = counts.entry(queue).or_default();
            let mut successful = Vec::new();
            for entry in input["Entries"].as_array().into_iter().flatten() {
                *count += 1;
                successful.push(json!({
                    "Id": entry["Id"],
                    "MessageId": format!("00000000-0000-4000-8000-{:012x}", *count),
                    "MD5OfMessageBody": "",
                }));
            }
            reply(StatusCode::OK, json!({ "Successful": successful, "Failed": [] }))
        }
        "Firehose_20150804.PutRecordBatch" if input["Records"].is_array() => {
            let stream = format!("firehose:{}", input["DeliveryStreamName"].as_str().unwrap_or_default());
            let count = counts.entry(stream).or_default();
            let responses: Vec<Value> = input["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|_| {
                    *count += 1;
                    json!({ "RecordId": format!("record-{:012x}", *count) })
                })
                .collect();
            reply(
                StatusCode::OK,
                json!({ "FailedPutCount": 0, "Encrypted": false, "RequestResponses": responses }),
            )
        }
        "GetQueueAttributes" => {
            let count = counts.get(&queue).copied().unwrap_or_default();
            reply(
                StatusCode::OK,
                json!({ "Attributes": { "ApproximateNumberOfMessages": count.to_string() } }),
            )
        }
        _ => reply(
            StatusCode::BAD_REQUEST,
            json!({
                "__type": "com.amazonaws.sqs#InvalidAction",
                "message": format!("the stub does not serve {action:?} with this input"),
            }),
        ),
    };
    Ok(response)
}

/// The `sqs-stub` binary running on a free loopback port; killed when dropped.
pub struct SqsStub {
    pub endpoint: String,
    _child: Child,
}

impl SqsStub {
    /// Starts `binary` (the `sqs-stub` binary) and waits until it listens;
    /// over HTTPS when given a certificate chain and key.
    pub fn start(binary: &Path, tls: Option<(&Path, &Path)>) -> std::io::Result<SqsStub> {
        SqsStub::start_with(binary, tls, &[])
    }

    /// [`SqsStub::start`] with settings (`STUB_LATENCY_MS`, `STUB_THROTTLE`).
    pub fn start_with(binary: &Path, tls: Option<(&Path, &Path)>, env: &[(&str, &str)]) -> std::io::Result<SqsStub> {
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .arg(port.to_string())
            .kill_on_drop(true)
            .envs(env.iter().copied());
        if let Some((cert, key)) = tls {
            command.arg(cert).arg(key);
        }
        dies_with_this_process(&mut command);
        let child = command.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("the SQS stub did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        Ok(SqsStub {
            endpoint: format!("{scheme}://127.0.0.1:{port}"),
            _child: child,
        })
    }

    /// A queue URL on this endpoint (any name will do).
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/123456789012/{name}", self.endpoint)
    }
}
