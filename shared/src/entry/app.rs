//! The composition root: [`App`], everything a function needs, built once
//! at init from the environment ([`App::from_env`]) or, in tests, from a
//! configuration and in-memory sinks.

use std::sync::Mutex;
use std::time::Instant;

use crate::egress::archive::{Archive, Archiver, Firehose};
use crate::egress::budgets::{HEALTH_BUDGET, HEALTH_CACHE, QUARANTINE_BUDGET};
#[cfg(any(test, feature = "testing"))]
use crate::egress::memory::MemoryArchive;
use crate::egress::metrics::RecentKeys;
use crate::egress::problem::{KeepRule, Rejection};
use crate::egress::publisher::{Health, Publisher, Queues, Route, Sqs};
use crate::egress::quarantine::Keeper;
use crate::entry::config::{Config, ConfigError};
use crate::ingress::access::{PerMinute, KEPT_UNAUTHORIZED_PER_MINUTE};
use crate::ingress::token::TokenCheck;
use crate::vendors::providers::Provider;

/// What becomes of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keeping {
    /// Kept: quarantine and archive, or the logs when neither takes it.
    Kept,
    /// Not kept, as its [`KeepRule`] says.
    NotKept,
    /// A wrong token that would have been kept but for this minute's budget.
    OverMinuteBudget,
    /// Not kept: the sender of an unreadable event could not be
    /// established (the reason).
    SenderUnknown(&'static str),
    /// Not kept again: run again from quarantine, where it stays.
    AlreadyKept,
}

impl From<bool> for Keeping {
    fn from(kept: bool) -> Self {
        if kept {
            Keeping::Kept
        } else {
            Keeping::NotKept
        }
    }
}

/// Everything a function needs, built once at init. `Q` is SQS and `A`
/// Firehose in the functions, in-memory stand-ins in some tests.
#[derive(Debug)]
pub struct App<Q = Sqs, A = Firehose> {
    /// The settings read at init.
    pub config: Config,
    /// Sends to the events and quarantine queues within their budgets.
    pub publisher: Publisher<Q>,
    /// The archive, when `ARCHIVE_STREAM` is set.
    pub archiver: Option<Archiver<A>>,
    /// The webhook token, when `SHARED_SECRET` or `SHARED_SECRET_ARN` is set.
    pub token: Option<TokenCheck>,
    /// Dedupe keys seen recently by this instance, for the `Repeats` metric.
    recent: Mutex<RecentKeys>,
    /// The wrong-token requests kept this minute ([`KEPT_UNAUTHORIZED_PER_MINUTE`]);
    /// `None` without an allowlist that is a boundary, where none are kept.
    kept_unauthorized: Option<Mutex<PerMinute>>,
    /// The last health answer and when it was found ([`HEALTH_CACHE`]).
    health: Mutex<Option<(Instant, bool)>>,
}

impl App<Sqs> {
    /// Reads the configuration, builds the SQS client and, with
    /// `SHARED_SECRET_ARN`, reads the token from Secrets Manager. Fails,
    /// naming the variable, when a setting is missing or malformed or the
    /// secret cannot be read.
    pub async fn from_env(provider: Provider) -> Result<Self, ConfigError> {
        let started = Instant::now();
        let config = Config::from_env(provider)?;
        let config_done = started.elapsed();
        let sdk = platform::aws::sdk_config()?;
        let client = platform::aws::sqs(&sdk);
        let fallback = config
            .fallback
            .as_ref()
            .map(|f| platform::aws::sqs_in(&sdk, &f.region, f.endpoint.as_deref()));
        let firehose = crate::egress::clients::firehose(&sdk);
        let client_done = started.elapsed();
        let token = match &config.secret_arn {
            Some(secret_id) => {
                let secrets = crate::egress::clients::secrets_manager(&sdk);
                let read = TokenCheck::from_secrets_manager(secrets, secret_id, config.previous_grace).await;
                Some(read.map_err(|reason| ConfigError::Malformed {
                    var: "SHARED_SECRET_ARN",
                    reason,
                })?)
            }
            None => None,
        };
        let secret_done = started.elapsed();
        let mut app = App::with_sinks(
            config,
            Sqs::new(client),
            fallback.map(Sqs::new),
            Firehose::new(firehose),
        );
        if token.is_some() {
            app.token = token;
        }
        if app.config.prewarm {
            if let Err(err) = app.publisher.prewarm(&app.config.queue).await {
                // Not fatal: a refusal (say, no sqs:GetQueueAttributes) leaves the
                // connection open all the same; if SQS is unreachable, the first
                // request tries again and answers 503 if it must.
                tracing::warn!(error = %err, "SQS_PREWARM: GetQueueAttributes failed");
            }
        }
        tracing::info!(
            config_us = config_done.as_micros() as u64,
            sdk_client_us = (client_done - config_done).as_micros() as u64,
            secret_us = app
                .config
                .secret_arn
                .is_some()
                .then(|| (secret_done - client_done).as_micros() as u64),
            prewarm_us = app
                .config
                .prewarm
                .then(|| (started.elapsed() - secret_done).as_micros() as u64),
            "initialized"
        );
        Ok(app)
    }

    /// The app with its SDK clients (the Firehose one is used only with
    /// `ARCHIVE_STREAM`).
    pub fn new(config: Config, sqs: aws_sdk_sqs::Client, firehose: aws_sdk_firehose::Client) -> Self {
        App::with_sinks(config, Sqs::new(sqs), None, Firehose::new(firehose))
    }
}

#[cfg(any(test, feature = "testing"))]
impl<Q: Queues> App<Q, MemoryArchive> {
    /// The app on `queues`, with an in-memory archive (used when the
    /// configuration names an `ARCHIVE_STREAM`): for tests.
    pub fn with_queues(config: Config, queues: Q) -> Self {
        App::with_sinks(config, queues, None, MemoryArchive::new())
    }
}

impl<Q: Queues, A: Archive> App<Q, A> {
    /// The app on `queues`, with `fallback` for the other region's queues
    /// (`None`: `queues` serves them too), and `archive`.
    pub(crate) fn with_sinks(config: Config, queues: Q, fallback: Option<Q>, archive: A) -> Self {
        let archiver = config
            .archive_stream
            .clone()
            .map(|stream| Archiver::new(archive, stream));
        let token = config.secret.clone().map(TokenCheck::fixed);
        let boundary = config.allowlist.as_ref().is_some_and(|list| !list.is_wide());
        Self {
            config,
            publisher: Publisher::with_fallback(queues, fallback),
            archiver,
            token,
            recent: Mutex::new(RecentKeys::new(10_000)),
            kept_unauthorized: boundary.then(|| Mutex::new(PerMinute::new(KEPT_UNAUTHORIZED_PER_MINUTE))),
            health: Mutex::new(None),
        }
    }

    /// Where accepted events go: the events queue, then its fallback.
    pub(crate) fn events_route(&self) -> Route<'_> {
        Route {
            local: &self.config.queue,
            fallback: self.config.fallback.as_ref().and_then(|f| f.queue.as_ref()),
        }
    }

    /// Whether this region's events queue works (the health route): not
    /// while its breaker skips it; a probe when the breaker is due one;
    /// otherwise it answers within [`HEALTH_BUDGET`]. A closed breaker's
    /// answer is reused for [`HEALTH_CACHE`], so a flood of health checks
    /// costs SQS one call per environment every few seconds.
    pub(crate) async fn healthy(&self) -> bool {
        let queue = &self.config.queue;
        let cached = *self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let fresh = cached.filter(|(at, _)| at.elapsed() < HEALTH_CACHE);
        let healthy = match (self.publisher.skipping(queue), fresh) {
            (false, Some((_, healthy))) => return healthy,
            _ => match self.publisher.health(queue, HEALTH_BUDGET).await {
                Health::Skipped => return false,
                Health::Probed(healthy) | Health::Asked(healthy) => healthy,
            },
        };
        *self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Instant::now(), healthy));
        healthy
    }

    /// What becomes of this refused request: what its [`KeepRule`] says, a
    /// wrong token kept only behind an allowlist that is a boundary (not
    /// wider than the open-door limit) and only while this minute's budget
    /// lasts.
    pub(crate) fn keeping(&self, rejection: &Rejection) -> Keeping {
        let Some(cap) = &self.kept_unauthorized else {
            return Keeping::from(rejection.keeps_request(false));
        };
        if rejection.keep_rule() != KeepRule::BehindAllowlist {
            return Keeping::from(rejection.keeps_request(true));
        }
        if cap.lock().is_ok_and(|mut cap| cap.take(Instant::now())) {
            Keeping::Kept
        } else {
            Keeping::OverMinuteBudget
        }
    }

    /// What [`crate::egress::quarantine::quarantine_or_log`] takes to keep a request.
    pub(crate) fn keeper(&self) -> Keeper<'_, Q, A> {
        Keeper {
            provider: self.config.provider.name(),
            queue: self.config.quarantine.as_ref(),
            fallback: self.config.fallback.as_ref().and_then(|f| f.quarantine.as_ref()),
            publisher: &self.publisher,
            archiver: self.archiver.as_ref(),
            budget: QUARANTINE_BUDGET,
        }
    }

    /// How many of `keys` this instance saw within the last five minutes.
    pub(crate) fn repeats(&self, keys: &[String]) -> usize {
        let now = Instant::now();
        match self.recent.lock() {
            Ok(mut recent) => keys.iter().filter(|key| recent.repeat(key, now)).count(),
            Err(_) => 0,
        }
    }
}
