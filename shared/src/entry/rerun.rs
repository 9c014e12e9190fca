//! The one way back in: a request the intake kept (in quarantine, the
//! archive, or the logs) run through the pipeline again, as the operator
//! tools `recover` and `redrive` do. It goes through what a live request
//! that passed the door goes through (size, content type, validation,
//! enqueueing, within the same budgets) and ends as one does ([`settle`]:
//! one log line, the keep rule, the metrics). The door's checks are not run
//! again: the request passed them when it came in, or a person vouched for
//! it.

use std::time::Instant;

use time::OffsetDateTime;

use crate::egress::archive::Archive;
use crate::egress::problem::Rejection;
use crate::egress::publisher::Queues;
use crate::entry::app::App;
use crate::entry::enqueue::{prepare, validate_and_enqueue};
use crate::entry::handler::{caught, settle, Delivery, Sender, Settled};
use crate::ingress::request::Incoming;

/// Where a request run again is kept while it runs, which decides what a
/// refusal keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptIn {
    /// Only in the functions' logs (`recover`): refused again, it is kept as
    /// a live request would be (quarantine and archive, or the logs).
    Logs,
    /// In quarantine, on the queue or in the archive (`redrive`), where it
    /// stays: refused again, nothing more is kept.
    Quarantine,
}

impl<Q: Queues, A: Archive> App<Q, A> {
    /// Runs `kept`, a request received at `received` (the original time, so
    /// that ids and `receivedtime` are the ones it had), through validation
    /// and enqueueing as a live request that passed the door, logged and
    /// counted as one; a refusal is kept as [`KeptIn`] says. A panic is
    /// caught and ends as a live request's does (500).
    pub async fn rerun(&self, kept: &Incoming, received: OffsetDateTime, kept_in: KeptIn) -> Settled {
        let delivery = Delivery {
            incoming: kept,
            started: Instant::now(),
            received,
        };
        let outcome = caught(validate_and_enqueue(self, kept, received)).await;
        let sender = match kept_in {
            KeptIn::Logs => Sender::Checked,
            KeptIn::Quarantine => Sender::Quarantined,
        };
        settle(self, &delivery, outcome, sender).await
    }

    /// Everything [`App::rerun`] does but sending, keeping, logging and
    /// counting (a dry run): the ids the request's events would have, or why
    /// it would be refused.
    pub fn check_rerun(&self, kept: &Incoming, received: OffsetDateTime) -> Result<Vec<String>, Rejection> {
        let prepared = prepare(&self.config, kept, received)?;
        Ok(prepared.parsed.events.into_iter().map(|event| event.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::{HeaderMap, Method, StatusCode};
    use time::macros::datetime;

    use super::*;
    use crate::egress::memory::{MemoryArchive, MemoryQueues};
    use crate::entry::config::Config;
    use crate::entry::handler::answer;
    use crate::vendors::providers::Provider;

    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    const QUARANTINE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/quarantine";
    const INSERT: &str = include_str!("../../../events/bodies/artemis-insert.json");
    const RECEIVED: OffsetDateTime = datetime!(2026-11-23 10:00:00.5 UTC);

    /// Artemis behind a token, as deployed.
    fn app() -> App<MemoryQueues, MemoryArchive> {
        let config = Config::from_lookup(Provider::Artemis, |var| match var {
            "QUEUE_URL" => Some(QUEUE.to_owned()),
            "QUARANTINE_QUEUE_URL" => Some(QUARANTINE.to_owned()),
            "SHARED_SECRET" => Some("hunter2-very-secret".to_owned()),
            _ => None,
        })
        .expect("a valid configuration");
        App::with_queues(config, MemoryQueues::new())
    }

    /// A request as a quarantine record gives it back: the token redacted
    /// away.
    fn kept(body: &str) -> Incoming {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Incoming {
            method: Method::POST,
            path: "/hooks/artemis".into(),
            query: Vec::new(),
            headers,
            source_ip: Some("203.0.113.9".into()),
            body: body.as_bytes().to_vec(),
            trace_header: None,
            request_id: "req-rerun".into(),
        }
    }

    #[tokio::test]
    async fn a_rerun_enqueues_what_the_live_request_would_have_with_the_same_ids() {
        let live_app = app();
        let mut live = kept(INSERT);
        live.headers
            .insert("x-webhook-token", "hunter2-very-secret".parse().unwrap());
        let delivery = Delivery {
            incoming: &live,
            started: Instant::now(),
            received: RECEIVED,
        };
        assert_eq!(answer(&live_app, &delivery).await.status(), StatusCode::ACCEPTED);
        let live_queued = live_app.publisher.queues().take(QUEUE);

        // No token: the door's checks are not run again.
        let app = app();
        let settled = app.rerun(&kept(INSERT), RECEIVED, KeptIn::Logs).await;
        assert_eq!(settled.status(), 202);
        assert!(!settled.quarantined);
        let accepted = settled.outcome.expect("accepted");
        let queued = app.publisher.queues().take(QUEUE);
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].body, live_queued[0].body, "the same event, ids and time");
        assert_eq!(accepted.message_ids.len(), 1);
        assert!(queued[0].body.contains(&accepted.ids[0]));
    }

    #[tokio::test]
    async fn a_refused_rerun_is_kept_once() {
        let invalid = "{\"customerId\": true}";
        let app = app();
        let settled = app.rerun(&kept(invalid), RECEIVED, KeptIn::Logs).await;
        assert_eq!(settled.status(), 400);
        assert!(settled.quarantined, "from the logs: kept as a live refusal is");
        let records = app.publisher.queues().take(QUARANTINE);
        assert_eq!(records.len(), 1);
        assert!(records[0].body.contains("req-rerun"));

        let settled = app.rerun(&kept(invalid), RECEIVED, KeptIn::Quarantine).await;
        assert_eq!(settled.status(), 400);
        assert!(!settled.quarantined, "from quarantine: it stays where it is");
        assert!(app.publisher.queues().take(QUARANTINE).is_empty());
        assert!(app.publisher.queues().take(QUEUE).is_empty());
    }

    #[tokio::test]
    async fn a_check_sends_nothing() {
        let app = app();
        let ids = app.check_rerun(&kept(INSERT), RECEIVED).expect("it would pass");
        assert_eq!(ids.len(), 1);
        let refused = app.check_rerun(&kept("{\"customerId\": true}"), RECEIVED);
        assert_eq!(refused.map_err(|r| r.reason()), Err("invalid-event"));
        assert_eq!(app.publisher.queues().calls(), 0);
        let settled = app.rerun(&kept(INSERT), RECEIVED, KeptIn::Quarantine).await;
        assert_eq!(settled.outcome.expect("accepted").ids, ids, "the ids a rerun gives");
    }
}
