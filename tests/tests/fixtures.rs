//! Every fixture in `events/` replayed through the handlers against moto: the
//! status, what landed on the queue and what landed in quarantine must match
//! `events/manifest.json`; and every message queued or quarantined must be in
//! the archive exactly once, byte for byte as it was sent to SQS.

use std::collections::BTreeSet;

use harness::archive::LocalArchive;
use harness::manifest::{self, events_dir};
use harness::sqs::{self, drain};
use harness::Moto;
use intake::App;

#[tokio::test]
async fn every_fixture_has_the_outcome_its_manifest_records() {
    let client = sqs::client(&Moto::shared().endpoint).await;
    let queue = sqs::create_queue(&client, "fixtures", false).await;
    let quarantine = sqs::create_queue(&client, "fixtures-quarantine", false).await;
    let archive = LocalArchive::create(&Moto::shared().raw_endpoint).await;
    let firehose = harness::archive::firehose_client(&Moto::shared().endpoint).await;
    let vars = [
        ("QUEUE_URL", queue.as_str()),
        ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
        ("ARCHIVE_STREAM", archive.stream.as_str()),
    ];
    let app = |provider| {
        App::new(
            harness::config(provider, &vars).unwrap(),
            client.clone(),
            firehose.clone(),
        )
    };
    // What SQS holds, by kind: (provider, body) in the order sent.
    let mut kept: Vec<(&str, String, String)> = Vec::new();

    let fixtures = manifest::load();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let response = harness::invoke(&app(fixture.provider()), &fixture.event()).await;
        let queued = drain(&client, &queue).await;
        let quarantined = drain(&client, &quarantine).await;
        let got = (response.status().as_u16(), queued.len(), quarantined.len());
        let expected = (fixture.status, fixture.queued, fixture.quarantined);
        if got != expected {
            failures.push(format!("{}: expected {expected:?}, got {got:?}", fixture.file));
        }
        for message in &queued {
            assert_eq!(message.json()["provider"], fixture.function, "{}", fixture.file);
            kept.push(("event", fixture.function.clone(), message.body.clone()));
        }
        for message in &quarantined {
            kept.push(("quarantine", fixture.function.clone(), message.body.clone()));
        }
    }
    // The archive: each kept message exactly once, identical to what SQS holds.
    let archived = archive.messages().await;
    let as_kept: Vec<(&str, String, String)> = archived
        .iter()
        .map(|m| {
            (
                if m.kind == "event" { "event" } else { "quarantine" },
                m.provider.clone(),
                m.message.clone(),
            )
        })
        .collect();
    assert_eq!(archived.len(), kept.len(), "one archive record per kept message");
    let mut expected = kept.clone();
    let mut got = as_kept.clone();
    expected.sort();
    got.sort();
    assert!(expected == got, "the archive holds exactly what SQS took");
    assert!(archived
        .iter()
        .all(|m| matches!(m.kind.as_str(), "event" | "quarantine")));
    for message in &archived {
        let body: serde_json::Value = serde_json::from_str(&message.message).unwrap();
        let request_id = match message.kind.as_str() {
            "quarantine" => body["requestId"].as_str().unwrap().to_owned(),
            _ => message.request_id.clone(),
        };
        assert_eq!(message.request_id, request_id);
        assert_eq!(body["receivedtime"], message.receivedtime.as_str());
        assert_eq!(body["provider"], message.provider.as_str());
    }
    assert!(
        failures.is_empty(),
        "(status, queued, quarantined) mismatches:\n{}",
        failures.join("\n")
    );

    // Every fixture file is in the manifest, and every manifest entry exists.
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json") && name != "manifest.json")
        .collect();
    let listed: BTreeSet<String> = fixtures.iter().map(|f| f.file.clone()).collect();
    assert_eq!(on_disk, listed);
    let doors: BTreeSet<&str> = fixtures.iter().map(|f| f.front_door.as_str()).collect();
    assert_eq!(doors, BTreeSet::from(["alb", "function-url", "http-v2", "rest-v1"]));
}
