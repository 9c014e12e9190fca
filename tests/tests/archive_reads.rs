//! The tools that replay or show evidence read only what the archive's
//! stream could have written (contract, "Who may read and write the
//! evidence"): from a bucket, `redrive --from-archive` and `history` take the
//! keys the stream writes (`kind=event|quarantine/dt=…/`) and, in each, only
//! records of that kind; what they leave out they say. A record planted
//! elsewhere in the bucket, or filed under the wrong kind, is never
//! redriven onto the events queue.

use aws_sdk_s3::primitives::ByteStream;
use harness::function::function_binary;
use harness::function::json_log_env;
use harness::{Call, FrontDoor, Moto};
use intake::testing::{MemoryQueues, Script};
use intake::{App, Provider};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/archive-reads-events";
const QUARANTINE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/archive-reads-quarantine";

/// The archive lines the functions write for a request SQS refused (503):
/// its event's record and its quarantine record, as the stream gets them.
async fn archived_lines_of_a_503() -> (String, String) {
    let vars = [
        ("QUEUE_URL", QUEUE),
        ("QUARANTINE_QUEUE_URL", QUARANTINE),
        ("ARCHIVE_STREAM", "archive"),
    ];
    let app = App::with_queues(harness::config(Provider::Artemis, &vars).unwrap(), MemoryQueues::new());
    app.publisher.queues().then(Script::FailCall);
    let event = Call::post("/hooks/artemis", INSERT)
        .request_id("planted-1")
        .event(FrontDoor::HttpV2);
    assert_eq!(harness::invoke(&app, &event.to_string()).await.status(), 503);
    let lines: Vec<String> = app
        .archiver
        .as_ref()
        .unwrap()
        .archive()
        .records()
        .iter()
        .map(|r| String::from_utf8(r.clone()).unwrap())
        .collect();
    let of = |kind: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
            .cloned()
            .unwrap()
    };
    (of("event"), of("quarantine"))
}

#[tokio::test]
async fn only_what_the_stream_wrote_is_redriven_or_shown() {
    let moto = Moto::shared();
    let s3 = harness::archive::s3_client(&moto.raw_endpoint).await;
    let bucket = format!("archive-reads-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let (event, quarantine) = archived_lines_of_a_503().await;
    let put = |key: &'static str, body: String| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .unwrap();
        }
    };
    // What the stream writes...
    put("kind=quarantine/dt=2026-12-04/stream-1", quarantine.clone()).await;
    put("kind=event/dt=2026-12-04/stream-1", event.clone()).await;
    // ...and what it never writes: Firehose's failures, a record planted
    // outside its layout, one filed under the wrong kind.
    put(
        "errors/processing-failed/dt=2026-12-04/x",
        "{\"rawData\":\"…\"}".to_owned(),
    )
    .await;
    put("planted/kind=quarantine/dt=2026-12-04/x", quarantine.clone()).await;
    put("kind=event/dt=2026-12-04/planted", quarantine.clone()).await;

    let run = |binary: &str, args: &[&str]| {
        std::process::Command::new(function_binary(binary))
            .args(args)
            .envs(json_log_env(&moto.raw_endpoint))
            .env("ARCHIVE_BUCKET", &bucket)
            .env("QUEUE_URL", QUEUE)
            .output()
            .unwrap()
    };
    let redrive = run(
        "redrive",
        &[
            "--from-archive",
            "--since",
            "2000-01-01T00:00:00Z",
            "--until",
            "2100-01-01T00:00:00Z",
        ],
    );
    let out = String::from_utf8_lossy(&redrive.stdout);
    assert!(
        redrive.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&redrive.stderr)
    );
    assert!(out.contains("1 would enqueue"), "the stream's record only, once: {out}");
    assert!(out.contains("1 objects under errors/"), "{out}");
    assert!(
        out.contains("1 objects the stream did not write") && out.contains("planted/kind=quarantine"),
        "{out}"
    );
    assert!(
        out.contains("1 lines of kind=event/dt=2026-12-04/planted that are not event records"),
        "{out}"
    );

    let history = run("history", &["--subject", "CUST-000123"]);
    let (out, err) = (
        String::from_utf8_lossy(&history.stdout),
        String::from_utf8_lossy(&history.stderr),
    );
    assert!(history.status.success(), "{out}{err}");
    assert!(
        out.contains("2 entries for this customer, among 2 archived messages"),
        "{out}"
    );
    assert!(err.contains("skipped 1 objects the stream did not write"), "{err}");
}
