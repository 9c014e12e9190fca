//! A smaller version of `make load` inside `make test`: sequential and
//! concurrent senders, both functions, every kind of request; nothing lost,
//! and the archive holds every queued and quarantined message.

use dev::load;
use harness::Moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_then_concurrent_load_loses_nothing() {
    let moto = Moto::shared();
    for (requests, concurrency, processes, fifo) in [(200, 1, 1, false), (600, 8, 3, false), (300, 8, 2, true)] {
        let report = load::run(
            (&moto.endpoint, &moto.raw_endpoint),
            requests,
            concurrency,
            processes,
            fifo,
        )
        .await;
        report.print(&format!("{requests} requests, {concurrency} senders, fifo={fifo}"));
        assert_eq!(report.requests, requests);
        assert!(report.zero_loss(), "{report:?}");
        assert!(report.accepted_events > 0 && report.quarantined > 0);
        assert_eq!(
            (report.archived_events, report.archived_quarantine),
            (report.accepted_events, report.quarantined),
            "archived = queued + quarantined"
        );
        assert_eq!(
            report.quarantined,
            report.by_status.get(&400).copied().unwrap_or_default()
        );
    }
}
