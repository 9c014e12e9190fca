//! A burst through several environments while SQS and Firehose throttle
//! (docs/capacity.md): the built `artemis` and `amlyze` binaries, four
//! processes each (four of Lambda's concurrent execution environments per
//! function, each with Lambda's memory), take a burst of requests all at
//! once, while a fault layer throttles a share of the SQS calls (events queue
//! and quarantine) and of Firehose's calls and records, as AWS does past a
//! quota. Every answer is reconciled:
//!
//! - a 202: each id it gave is on the events queue, once;
//! - a 400 or 503: the request is in quarantine, or logged whole for `recover`;
//! - every kept message (queued or quarantined) is in the archive, or logged
//!   as `unarchived_record`: after `recover` has run on the logs, the archive
//!   holds exactly what the queues hold.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use harness::emulator::RuntimeApi;
use harness::faults::{Fault, FaultProxy};
use harness::function::json_log_env;
use harness::function::{assert_log_records_fit, function_binary, recover, Function};
use harness::sqs::{self, drain};
use harness::{Call, FrontDoor, Moto};
use serde_json::Value;

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const AMLYZE: &str = include_str!("../../events/bodies/amlyze-customer-updated.json");
/// Execution environments per function.
const ENVIRONMENTS: usize = 4;
/// Requests per function in the burst.
const BURST: usize = 60;

/// Request `i` of a vendor's burst: mostly valid, every fifth invalid.
fn call(vendor: &str, i: usize) -> (Call, bool) {
    let request_id = format!("burst-{vendor}-{i}");
    let valid = i % 5 != 4;
    let call = match (vendor, valid) {
        ("artemis", true) => Call::post("/hooks/artemis", INSERT.replace("123456", &(1000 + i).to_string())),
        ("artemis", false) => Call::post("/hooks/artemis", format!("{{\"customerId\": \"{i}\"}}")),
        (_, valid) => Call::post(
            "/hooks/amlyze",
            if valid {
                AMLYZE.to_owned()
            } else {
                "{\"sanctioned\": \"maybe\"}".to_owned()
            },
        )
        .header("ce-id", &format!("burst-{i}"))
        .header("ce-source", "burst")
        .header("ce-type", "com.amlyze.customer.updated")
        .header("ce-specversion", "1.0"),
    };
    (call.request_id(&request_id), valid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_while_sqs_and_firehose_throttle_loses_nothing() {
    let moto = Moto::shared();
    let client = sqs::client(&moto.endpoint).await;
    let queue = sqs::create_queue(&client, "burst-events", false).await;
    let quarantine = sqs::create_queue(&client, "burst-quarantine", false).await;
    let archive = harness::archive::LocalArchive::create(&moto.raw_endpoint).await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    // A share of every service's calls throttled: the SDK's three attempts
    // get through most, not all (503, kept); the quarantine's fewer.
    proxy.inject(Some(&queue), Fault::ThrottleEvery(2));
    proxy.inject(Some(&quarantine), Fault::ThrottleEvery(4));
    proxy.inject(Some(&archive.stream), Fault::FirehoseQuota { calls: 4, records: 3 });
    let vars = [
        ("QUEUE_URL", queue.as_str()),
        ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
        ("ARCHIVE_STREAM", archive.stream.as_str()),
    ];
    let mut env = json_log_env(&proxy.endpoint);
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));

    let mut functions = Vec::new();
    let mut apis = HashMap::new();
    let mut logs = Vec::new();
    for vendor in ["artemis", "amlyze"] {
        let api = RuntimeApi::start().await.unwrap();
        for n in 0..ENVIRONMENTS {
            let log = std::env::temp_dir().join(format!("burst-{vendor}-{n}-{}.log", std::process::id()));
            let _ = std::fs::remove_file(&log);
            functions.push(Function::spawn(&function_binary(vendor), &api, vendor, &env, Some(&log)).unwrap());
            logs.push(log);
        }
        apis.insert(vendor, api);
    }

    // The burst: every request at once, queued for the environments as
    // Lambda would hand them out.
    let started = Instant::now();
    let sends = ["artemis", "amlyze"].into_iter().flat_map(|vendor| {
        let api = apis[vendor].clone();
        (0..BURST).map(move |i| {
            let api = api.clone();
            tokio::spawn(async move {
                let (call, valid) = call(vendor, i);
                let began = Instant::now();
                // The emulator answers "Task timed out" for a run longer
                // than Lambda's timeout, counted from when an environment
                // took the request (not while it waited for one, as here).
                let outcome = api
                    .invoke(
                        call.event(FrontDoor::RestV1).to_string().as_bytes(),
                        Duration::from_secs(180),
                    )
                    .await;
                let answer = outcome.unwrap_or_else(|err| panic!("{vendor} {i}: no answer: {err}"));
                let answer: Value = serde_json::from_slice(&answer).unwrap();
                (vendor, i, valid, answer, began.elapsed())
            })
        })
    });
    let mut answers = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        answers.push(send.await.unwrap());
    }
    let elapsed = started.elapsed();
    drop(functions);
    for log in &logs {
        assert_log_records_fit(log);
    }
    assert!(proxy.faulted() > 0, "the fault layer throttled nothing");

    // Every answer, and where its request went.
    let mut by_status: HashMap<u64, usize> = HashMap::new();
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut refused_ids = Vec::new();
    let slowest = answers.iter().map(|a| a.4).max().unwrap_or_default();
    for (vendor, i, valid, answer, _) in &answers {
        let status = answer["statusCode"].as_u64().unwrap();
        *by_status.entry(status).or_default() += 1;
        match (status, valid) {
            (202, true) => {
                let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
                *accepted.entry(body["id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
            (400, false) | (503, true) => refused_ids.push(format!("burst-{vendor}-{i}")),
            _ => panic!("{vendor} {i} (valid: {valid}): unexpected answer {answer}"),
        }
    }
    println!(
        "burst of {} in {elapsed:?} (slowest answer, queued and run: {slowest:?}): {by_status:?}; {} throttled calls",
        answers.len(),
        proxy.faulted()
    );

    // What no queue took is in the logs: recover puts it back (queued,
    // quarantined, archived) before anything is counted.
    let mut recovered = String::new();
    for log in &logs {
        recovered.push_str(&recover(&[], log, &vars).await);
    }
    let queued = drain(&client, &queue).await;
    let quarantined = drain(&client, &quarantine).await;
    println!("recover, {:?} after the burst:\n{recovered}", started.elapsed());

    // Every kept message is in the archive. The archive takes a record
    // beside its SQS send, and `recover` archives what it puts back again
    // (docs/choices.md): so a request that went through the logs (a 503, or
    // a 400 whose quarantine send was throttled) may be in the archive twice,
    // and a 503's event record may be there beside its quarantine record.
    // Nothing else.
    let archive_records = archive.messages().await;
    let mut unmatched: HashMap<&str, usize> = HashMap::new();
    for record in &archive_records {
        *unmatched.entry(record.message.as_str()).or_default() += 1;
    }
    for message in queued.iter().chain(&quarantined) {
        let count = unmatched.get_mut(message.body.as_str());
        assert!(
            count.is_some_and(|c| *c > 0),
            "not in the archive ({} records): {}\n{recovered}",
            archive_records.len(),
            message.body
        );
        *unmatched.get_mut(message.body.as_str()).unwrap() -= 1;
    }
    let kept: Vec<&str> = queued.iter().chain(&quarantined).map(|m| m.body.as_str()).collect();
    for record in archive_records
        .iter()
        .filter(|r| unmatched.get(r.message.as_str()).is_some_and(|c| *c > 0))
    {
        assert!(
            refused_ids.contains(&record.request_id),
            "an archive record no queue holds, of a request answered 202 or not at all ({:?}): {}\n{recovered}",
            record.kind,
            record.message
        );
        assert!(
            record.kind == "event" || kept.contains(&record.message.as_str()),
            "a quarantine record in the archive that is no copy of one in quarantine: {}\n{recovered}",
            record.message
        );
    }
    let request_of: HashMap<String, String> = archive_records
        .iter()
        .filter(|m| m.kind == "event")
        .map(|m| {
            let event: Value = serde_json::from_str(&m.message).unwrap();
            (event["id"].as_str().unwrap().to_owned(), m.request_id.clone())
        })
        .collect();

    // A 202: each id on the events queue, once. Anything else there is a
    // refused request that recover put back from the logs.
    let mut on_queue: HashMap<String, usize> = HashMap::new();
    for message in &queued {
        *on_queue
            .entry(message.json()["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for (id, told) in &accepted {
        assert_eq!(on_queue.get(id), Some(told), "202 for {id}: on the events queue once");
    }
    let mut kept_requests: Vec<String> = quarantined
        .iter()
        .map(|m| m.json()["requestId"].as_str().unwrap().to_owned())
        .collect();
    for id in on_queue.keys().filter(|id| !accepted.contains_key(*id)) {
        let request = request_of
            .get(id)
            .unwrap_or_else(|| panic!("event {id} has no archive record"));
        assert!(
            refused_ids.contains(request),
            "event {id} on the queue was never answered 202 nor refused"
        );
        kept_requests.push(request.clone());
    }
    // A 400 or 503: kept once, in quarantine (or recovered from the logs).
    kept_requests.sort();
    refused_ids.sort();
    assert_eq!(
        kept_requests, refused_ids,
        "every 400 and 503, kept once (left: quarantined or recovered onto the queue; right: answered 400 or 503)\n{recovered}"
    );
}
