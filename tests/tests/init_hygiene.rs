//! Init hygiene: traced with `strace`, a function's init opens no
//! file it does not need (no certificate store, no AWS profile file) and
//! connects to nothing but the Runtime API, and SQS too when pre-warming.
//! Without `strace` on this machine the test says so loudly and checks nothing.
//!
//! Attempts count too: a failed `open` of `~/.aws/config` is still init
//! time spent looking for a profile a function does not have.

use std::collections::BTreeSet;
use std::time::Duration;

use harness::emulator::RuntimeApi;
use harness::function::{function_binary, local_env};
use harness::stack::Stack;
use harness::Moto;

/// Files init may open: the dynamic loader's and libc's own, and what the
/// Rust runtime reads about the process and its cgroup.
fn allowed(path: &str) -> bool {
    [
        "/etc/ld.so",
        "/lib",
        "/usr/lib",
        "/proc/self/",
        "/sys/fs/cgroup",
        "/sys/devices/system/cpu",
        "/proc/sys/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
        || path == "/dev/urandom"
}

/// What init did: files opened, files it tried and could not open, ports
/// it connected to.
struct Trace {
    opened: BTreeSet<String>,
    tried: BTreeSet<String>,
    ports: BTreeSet<u16>,
}

/// Runs `name` under strace until it first asks the Runtime API for work.
async fn traced_init(name: &str, prewarm: bool) -> Option<Trace> {
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        eprintln!("!!! strace is not installed: init hygiene NOT CHECKED !!!");
        return None;
    }
    let stack = Stack::new(false).await;
    let endpoint = &Moto::shared().endpoint;
    let api = RuntimeApi::start().await.unwrap();
    let trace = std::env::temp_dir().join(format!("strace-{name}-{prewarm}-{}.txt", std::process::id()));
    let env = local_env(
        endpoint,
        &[
            ("QUEUE_URL", stack.queue.as_str()),
            ("SQS_PREWARM", if prewarm { "true" } else { "false" }),
        ],
    );
    let binary = function_binary(name);
    let mut child = tokio::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,connect", "-o"])
        .arg(&trace)
        .arg(&binary)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("strace");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while api.first_poll().is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(api.first_poll().is_some(), "{name} reached the Runtime API");
    // Init is over once the function waits for its first event.
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().await.ok();
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let mut opened = BTreeSet::new();
    let mut tried = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for line in text.lines() {
        if line.contains("open") {
            if let Some(path) = line.split('"').nth(1) {
                let set = if line.contains("= -1") { &mut tried } else { &mut opened };
                set.insert(path.to_owned());
            }
        }
        if line.contains("connect(") {
            if let Some(port) = line
                .split("htons(")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .and_then(|p| p.parse().ok())
            {
                ports.insert(port);
            }
        }
    }
    Some(Trace { opened, tried, ports })
}

#[tokio::test]
async fn init_opens_only_what_it_needs_and_connects_only_where_it_must() {
    let runtime_port = |url: &str| -> u16 {
        url.rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap()
    };
    let sqs_port = runtime_port(&Moto::shared().endpoint);
    for (name, prewarm) in [("artemis", false), ("artemis", true), ("amlyze", false)] {
        let Some(Trace { opened, tried, ports }) = traced_init(name, prewarm).await else {
            return;
        };
        let unexpected: Vec<&String> = opened.iter().filter(|f| !allowed(f)).collect();
        assert!(
            unexpected.is_empty(),
            "{name} init opened {unexpected:?} (prewarm {prewarm})"
        );
        let all: Vec<&String> = opened.iter().chain(&tried).collect();
        assert!(
            !all.iter().any(|f| f.contains("ssl") || f.contains("cert")),
            "{name}: a certificate store: {all:?}"
        );
        assert!(
            !all.iter().any(|f| f.contains(".aws")),
            "{name}: AWS profile files, opened or tried: {all:?}"
        );
        let others: Vec<&u16> = ports.iter().filter(|p| **p != sqs_port).collect();
        assert!(
            others.len() <= 1,
            "{name} init connected to {ports:?}: the Runtime API, and SQS only when pre-warming"
        );
        assert_eq!(
            ports.contains(&sqs_port),
            prewarm,
            "{name}: SQS at init exactly when pre-warming: {ports:?}"
        );
        println!("{name} init, prewarm {prewarm}: opened {opened:?}, tried {tried:?}, ports {ports:?}");
    }
}
