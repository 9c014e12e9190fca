//! A small Lambda Runtime API emulator (the `2018-06-01` API that
//! `lambda_runtime` polls), and a runner for the built function binaries.
//!
//! `RuntimeApi::start` listens on loopback; `Function::spawn` runs a binary
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
use std::path::PathBuf;
use std::process::Stdio;
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
use tokio::process::{Child, Command};
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
            let _ = state.first_poll.set(Instant::now());
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
            let too_large = body.len() > intake::limits::MAX_RESPONSE_BYTES;
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

/// The environment for a function against a local SQS at `endpoint` (fixed
/// credentials, no instance metadata), plus `extra` settings.
pub fn local_env(endpoint: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        // Lambda sets both; boto3 reads only this one.
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Makes a child die with this process, even when this process is killed and
/// destructors do not run: no stray functions or servers after a test.
pub fn dies_with_this_process(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// A function binary running against a [`RuntimeApi`]; killed when dropped.
pub struct Function {
    pub child: Child,
    /// The memory cgroup holding it to [`LAMBDA_MEMORY_MB`], when one could be made.
    cgroup: Option<PathBuf>,
}

/// A memory cgroup (v1) limited to `mb` megabytes, without swap; `None` where
/// cgroups cannot be made here (not root, no v1 memory controller).
fn memory_cgroup(mb: u64) -> Option<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let root = PathBuf::from("/sys/fs/cgroup/memory");
    if !root.join("cgroup.procs").exists() {
        return None;
    }
    let name = format!(
        "intake-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = root.join(name);
    std::fs::create_dir(&dir).ok()?;
    let bytes = (mb * 1024 * 1024).to_string();
    if std::fs::write(dir.join("memory.limit_in_bytes"), &bytes).is_err() {
        let _ = std::fs::remove_dir(&dir);
        return None;
    }
    // Where swap accounting exists, swap counts too (Lambda has none).
    let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), &bytes);
    Some(dir)
}

/// Says once per process that functions run without Lambda's memory limit.
fn warn_no_cgroup() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!("emulator: no memory cgroup could be made; functions run without Lambda's 256 MB limit")
    });
}

impl Function {
    /// The most memory the function's cgroup used, in bytes.
    pub fn peak_memory(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.cgroup.as_ref()?.join("memory.max_usage_in_bytes")).ok()?;
        text.trim().parse().ok()
    }

    /// Whether the kernel killed the function for passing its memory limit.
    pub fn out_of_memory_kills(&self) -> u64 {
        self.cgroup
            .as_ref()
            .and_then(|dir| std::fs::read_to_string(dir.join("memory.oom_control")).ok())
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ").and_then(|n| n.trim().parse().ok()))
            })
            .unwrap_or(0)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let Some(dir) = self.cgroup.take() else { return };
        let _ = self.child.start_kill();
        // The cgroup can go once the process has left it.
        for _ in 0..100 {
            if std::fs::remove_dir(&dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Function {
    /// Runs `binary` with the Lambda environment plus `env` (nothing else of
    /// this process's environment); its output goes
    /// to `log` when given (a file, so a chatty function never blocks on a
    /// full pipe), else to this process's output.
    pub fn spawn(
        binary: &std::path::Path,
        api: &RuntimeApi,
        name: &str,
        env: &[(String, String)],
        log: Option<&std::path::Path>,
    ) -> std::io::Result<Function> {
        let cgroup = memory_cgroup(LAMBDA_MEMORY_MB);
        let mut command = match &cgroup {
            // The shell joins the cgroup, then becomes the function.
            Some(dir) => {
                let mut command = Command::new("/bin/sh");
                command.args(["-c", "echo $$ > \"$1/cgroup.procs\" && exec \"$0\""]);
                command.arg(binary).arg(dir);
                command
            }
            None => {
                warn_no_cgroup();
                Command::new(binary)
            }
        };
        // Only what Lambda sets, not this machine's environment: a developer's
        // SSL_CERT_FILE/SSL_CERT_DIR, HOME (profile files) or AWS_PROFILE would
        // change what the function does at init, and what the benchmarks measure.
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", LAMBDA_MEMORY_MB.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        dies_with_this_process(&mut command);
        if let Some(path) = log {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            command.stdout(file.try_clone()?).stderr(file);
        }
        Ok(Function {
            child: command.spawn()?,
            cgroup,
        })
    }
}

/// Fails unless every record of a function's log (one per line) fits
/// CloudWatch Logs' limit for one record.
pub fn assert_log_records_fit(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        assert!(
            line.len() <= intake::limits::MAX_LOG_RECORD_BYTES,
            "{}: a log record of {} bytes, over CloudWatch's 256 KiB",
            log.display(),
            line.len()
        );
    }
}

/// The path of a workspace binary (`artemis`, `amlyze`), building it first
/// (a no-op when it is up to date). `FUNCTION_BIN_DIR` overrides the folder.
pub fn function_binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("FUNCTION_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", name])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building {name} failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    target.join("debug").join(name)
}
