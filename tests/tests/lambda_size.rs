//! The harness's Lambda sizes: a function runs with the memory
//! limit and CPU share of its size, and with a full-vCPU init it is
//! throttled from its first poll of the Runtime API on. Where cgroups cannot
//! be made here the test says so loudly and checks nothing.

use harness::emulator::{invoke_json, RuntimeApi};
use harness::function::{function_binary, local_env, Function, LambdaSize};
use harness::stack::Stack;
use harness::{Call, FrontDoor, Moto};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");

#[tokio::test]
async fn a_full_cpu_init_is_throttled_to_the_sizes_share_from_the_first_poll() {
    let stack = Stack::new(false).await;
    let env = local_env(&Moto::shared().endpoint, &[("QUEUE_URL", stack.queue.as_str())]);
    let binary = function_binary("artemis");
    for full_cpu_init in [false, true] {
        let size = LambdaSize::lambda(128, full_cpu_init);
        let api = RuntimeApi::start().await.unwrap();
        // Held back until asked for: the quota can be read before the first poll.
        let function = Function::spawn_sized(&binary, &api, "artemis", &env, None, size).unwrap();
        if !function.cpu_limited() {
            eprintln!("!!! no CPU cgroup could be made here: Lambda sizes NOT CHECKED !!!");
            return;
        }
        // Read before the function's first poll (a debug build takes tens
        // of ms to get there); if it had polled already, nothing is claimed.
        let before = function.cpu_quota_us();
        let polled_before = api.first_poll().is_some();
        let answer = invoke_json(&api, &Call::post("/hooks/artemis", INSERT).event(FrontDoor::HttpV2)).await;
        assert_eq!(answer["statusCode"], 202, "{answer}");
        if !polled_before {
            let at_init = if full_cpu_init { 100_000 } else { 7_235 };
            assert_eq!(before, Some(at_init), "init's quota (full CPU init: {full_cpu_init})");
        } else {
            eprintln!("the function polled before its init quota was read; only the later quota is checked");
        }
        assert_eq!(function.cpu_quota_us(), Some(7_235), "128 MB's share after init");
    }
}
