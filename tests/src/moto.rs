//! A moto server in server mode on a free loopback port, started on first use
//! and stopped when the test process ends (even when it is killed: moto runs
//! under a shell that stops it as soon as our end of its stdin closes).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    /// The strict front (see [`crate::faults`]): every send is checked against
    /// real SQS's limits before moto sees it. What tests and tools use.
    pub endpoint: String,
    /// moto itself, for benchmarks that must not count the extra hop.
    pub raw_endpoint: String,
    child: Mutex<Child>,
}

impl Moto {
    /// The moto server shared by every test in this process.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    /// Starts a new moto server; panics with a hint when it cannot.
    pub fn start() -> Moto {
        let port = free_port();
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        // `read` returns at EOF, i.e. when this process exits: then moto is stopped.
        let script = r#"
            "$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 &
            pid=$!
            trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
            while read -r _; do :; done
        "#;
        let child = Command::new("sh")
            .args(["-c", script, &program, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("could not start sh for moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s; install it with: pip install 'moto[server]' (make test does)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint: strict_front(&endpoint),
            raw_endpoint: endpoint,
            child: Mutex::new(child),
        }
    }

    /// Stops the server now (otherwise it stops when the process exits).
    pub fn stop(&self) {
        if let Ok(mut child) = self.child.lock() {
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.flush();
            }
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a strict proxy to `upstream` on a thread of its own (so it outlives
/// any one test's runtime); returns its endpoint.
fn strict_front(upstream: &str) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the strict SQS proxy");
        runtime.block_on(async {
            let proxy = crate::faults::FaultProxy::start(&upstream).await;
            let _ = sender.send(proxy.endpoint.clone());
            std::future::pending::<()>().await
        })
    });
    receiver.recv().expect("the strict SQS proxy started")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}
