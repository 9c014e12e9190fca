//! Any bytes as a whole request through the whole pipeline: configuration,
//! front door, method, headers and body, into `intake::invoke` with in-memory
//! queues that apply SQS's limits; the invariant of "Nothing is lost"
//! (`harness::invariant`) must hold for every input.
//!
//! Layout: byte 0 picks provider, FIFO, allowlist and secret; byte 1 the front
//! door and the method; up to the first NUL, `name:value` lines are headers;
//! the rest is the body.
#![no_main]

use std::sync::OnceLock;

use harness::invariant::{check, Setup, SECRET};
use harness::{Call, FrontDoor};
use libfuzzer_sys::fuzz_target;
use intake::Provider;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

const METHODS: [&str; 8] = ["POST", "PUT", "PATCH", "GET", "OPTIONS", "DELETE", "HEAD", "POST"];
const ALLOWLISTS: [Option<&str>; 4] = [None, Some("203.0.113.0/24"), Some("198.51.100.0/24"), None];

fuzz_target!(|data: &[u8]| {
    let [config, route, rest @ ..] = data else { return };
    let setup = Setup {
        provider: if config & 1 == 0 { Provider::Artemis } else { Provider::Amlyze },
        fifo: config & 2 != 0,
        allowlist: ALLOWLISTS[usize::from(config >> 2) % 4],
        secret: config & 16 != 0,
        sick_region: config & 32 != 0,
    };
    let door = FrontDoor::ALL[usize::from(route & 3)];
    let (head, body) = match rest.iter().position(|b| *b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (&[][..], rest),
    };
    let mut call = Call::post("/hooks/fuzz", body.to_vec()).method(METHODS[usize::from(route >> 2) % 8]);
    call.headers.clear();
    if config & 32 != 0 {
        call = call.header("x-webhook-token", SECRET);
    }
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (Ok(name), Ok(value)) = (std::str::from_utf8(&line[..colon]), std::str::from_utf8(&line[colon + 1..])) else {
            continue;
        };
        // What HTTP can carry: a token name, a value without control characters.
        let name = name.trim().to_ascii_lowercase();
        let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if token && !value.chars().any(|c| c.is_control() && c != '\t') && !["host", "content-length"].contains(&name.as_str()) {
            call = call.header(&name, value.trim());
        }
    }
    if let Err(broken) = runtime().block_on(check(&setup, &call, door)) {
        panic!("the invariant broke: {broken}");
    }
});
