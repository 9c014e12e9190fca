//! The webhook token as a function checks it: `SHARED_SECRET` (fixed, for
//! local use), or the versions of the `SHARED_SECRET_ARN` secret.
//!
//! The secret is read at init: `AWSCURRENT`, and `AWSPREVIOUS`, which is
//! accepted only for `PREVIOUS_TOKEN_GRACE` after the current version was
//! created. A presented token that matches neither makes a warm function read
//! the secret again, at most once per [`REREAD_INTERVAL`] and one read at a
//! time (the requests that arrive meanwhile wait for that read), so a rotated
//! token is accepted within 30 s without waiting for new environments, and a
//! flood of wrong tokens costs at most one `GetSecretValue` per 30 s.
//!
//! Revoking works the other way: a warm function also reads the secret again
//! when what it knows is older than [`MAX_VERSIONS_AGE`], whatever token it
//! is shown, so a version that is no longer `AWSCURRENT` nor `AWSPREVIOUS`
//! stops passing within five minutes without new environments. And what
//! `AWSPREVIOUS` holds is only ever what Secrets Manager says: when it cannot
//! be read, no previous version is accepted until it can (assuming it to be
//! the version known so far would re-admit a token being revoked).

use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use crate::ingress::access::SharedSecret;

/// The least time between two reads of the secret by one environment.
pub(crate) const REREAD_INTERVAL: Duration = Duration::from_secs(30);
/// The most time a warm environment trusts the versions it read: after it,
/// the next request reads the secret again first (a revoked version stops
/// passing). One `GetSecretValue` per environment per five minutes.
pub(crate) const MAX_VERSIONS_AGE: Duration = Duration::from_secs(300);

/// The accepted tokens, and where they come from.
#[derive(Debug)]
pub struct TokenCheck {
    versions: RwLock<Versions>,
    source: Option<SecretSource>,
}

#[derive(Debug, Clone)]
struct Versions {
    current: SharedSecret,
    /// `AWSPREVIOUS`, and until when it is accepted.
    previous: Option<(SharedSecret, SystemTime)>,
    /// `AWSPREVIOUS` could not be read last time: read it at the next read.
    previous_unread: bool,
    read_at: Instant,
}

impl Versions {
    /// Compares with every accepted version whatever the outcome, so the
    /// timing does not tell which one matched.
    fn accept(&self, presented: &[u8], now: SystemTime) -> bool {
        let current = self.current.matches(Some(presented));
        let previous = self
            .previous
            .as_ref()
            .is_some_and(|(previous, until)| previous.matches(Some(presented)) & (now < *until));
        current | previous
    }
}

#[derive(Debug)]
struct SecretSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    grace: Duration,
    interval: Duration,
    max_age: Duration,
    /// Held while the secret is read: one read at a time.
    reading: tokio::sync::Mutex<()>,
}

/// One version of the secret: its token and when it was created.
struct Version {
    token: SharedSecret,
    created: SystemTime,
}

impl TokenCheck {
    /// `SHARED_SECRET`: one token, never read again.
    pub fn fixed(secret: SharedSecret) -> Self {
        Self {
            versions: RwLock::new(Versions {
                current: secret,
                previous: None,
                previous_unread: false,
                read_at: Instant::now(),
            }),
            source: None,
        }
    }

    /// Reads `SHARED_SECRET_ARN` (`secret_id`: an ARN or a name) at init:
    /// its `AWSCURRENT` version, which must exist, and its `AWSPREVIOUS`
    /// version when there is one. The value is the token as a plain string
    /// (what the template's generated secret holds); surrounding white space
    /// is not part of it. Any failure (why, for an init error naming the
    /// variable) stops init: a
    /// function that cannot check the token must not take requests.
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
        grace: Duration,
    ) -> Result<Self, String> {
        let malformed = |reason: String| reason;
        let current = read(&client, secret_id, "AWSCURRENT")
            .await
            .map_err(malformed)?
            .ok_or_else(|| malformed("it has no AWSCURRENT version".to_owned()))?;
        let previous = read(&client, secret_id, "AWSPREVIOUS").await.map_err(malformed)?;
        Ok(Self {
            versions: RwLock::new(Versions {
                previous: previous.map(|p| (p.token, current.created + grace)),
                current: current.token,
                previous_unread: false,
                read_at: Instant::now(),
            }),
            source: Some(SecretSource {
                client,
                secret_id: secret_id.to_owned(),
                grace,
                interval: REREAD_INTERVAL,
                max_age: MAX_VERSIONS_AGE,
                reading: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The least time between two reads (tests shorten it).
    pub fn with_reread_interval(mut self, interval: Duration) -> Self {
        if let Some(source) = &mut self.source {
            source.interval = interval;
        }
        self
    }

    /// The most time the versions read are trusted (tests shorten it).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        if let Some(source) = &mut self.source {
            source.max_age = max_age;
        }
        self
    }

    /// Whether `presented` is an accepted token; versions older than their
    /// maximum age are read again first, and a token that matches none may
    /// read them again (see the module's documentation).
    pub async fn accepts(&self, presented: Option<&[u8]>) -> bool {
        let Some(presented) = presented else {
            return false;
        };
        if let Some(source) = &self.source {
            if self.read_at().elapsed() >= source.max_age {
                self.reread(source).await;
            }
        }
        if self.accept_now(presented) {
            return true;
        }
        let Some(source) = &self.source else {
            return false;
        };
        self.reread(source).await;
        self.accept_now(presented)
    }

    /// Compares under the read lock (no copy of the versions per request).
    fn accept_now(&self, presented: &[u8]) -> bool {
        let now = SystemTime::now();
        match self.versions.read() {
            Ok(versions) => versions.accept(presented, now),
            Err(poisoned) => poisoned.into_inner().accept(presented, now),
        }
    }

    /// When the versions were last read (under the read lock, no copy).
    fn read_at(&self) -> Instant {
        match self.versions.read() {
            Ok(versions) => versions.read_at,
            Err(poisoned) => poisoned.into_inner().read_at,
        }
    }

    fn snapshot(&self) -> Versions {
        match self.versions.read() {
            Ok(versions) => versions.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, versions: Versions) {
        match self.versions.write() {
            Ok(mut slot) => *slot = versions,
            Err(poisoned) => *poisoned.into_inner() = versions,
        }
    }

    /// Reads `AWSCURRENT` again unless it was read within the interval (by
    /// this request or one that held the lock before it); after a rotation,
    /// or when it could not be read last time, `AWSPREVIOUS` too. A failed read keeps the versions known and waits
    /// for the next interval like a successful one.
    async fn reread(&self, source: &SecretSource) {
        let _reading = source.reading.lock().await;
        let mut versions = self.snapshot();
        if versions.read_at.elapsed() < source.interval {
            return;
        }
        versions.read_at = Instant::now();
        match read(&source.client, &source.secret_id, "AWSCURRENT").await {
            Ok(Some(current)) if current.token != versions.current || versions.previous_unread => {
                let previous = match read(&source.client, &source.secret_id, "AWSPREVIOUS").await {
                    Ok(previous) => {
                        versions.previous_unread = false;
                        previous.map(|p| p.token)
                    }
                    // Unknown, so none: the version known so far may be the
                    // very one being revoked. Read again at the next read.
                    Err(reason) => {
                        tracing::warn!("SHARED_SECRET_ARN: AWSPREVIOUS could not be read: {reason}");
                        versions.previous_unread = true;
                        None
                    }
                };
                if current.token != versions.current {
                    tracing::info!("SHARED_SECRET_ARN: a new AWSCURRENT version");
                }
                versions.previous = previous.map(|token| (token, current.created + source.grace));
                versions.current = current.token;
            }
            Ok(_) => {}
            Err(reason) => tracing::warn!("SHARED_SECRET_ARN could not be read again: {reason}"),
        }
        self.store(versions);
    }
}

/// One stage of the secret; `Ok(None)` when `AWSPREVIOUS` does not exist.
async fn read(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    stage: &str,
) -> Result<Option<Version>, String> {
    let answer = client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await;
    match answer {
        Ok(output) => match output.secret_string().map(str::trim) {
            Some(token) if !token.is_empty() => Ok(Some(Version {
                token: SharedSecret::new(token),
                created: output
                    .created_date()
                    .and_then(|date| SystemTime::try_from(*date).ok())
                    .unwrap_or_else(SystemTime::now),
            })),
            _ => Err(format!("its {stage} version holds no token (a non-empty SecretString)")),
        },
        Err(err)
            if stage == "AWSPREVIOUS"
                && err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => {
            let detail = aws_sdk_secretsmanager::error::DisplayErrorContext(&err);
            Err(format!("GetSecretValue ({stage}) failed: {detail}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(previous_until: Option<SystemTime>) -> Versions {
        Versions {
            current: SharedSecret::new("current-token"),
            previous: previous_until.map(|until| (SharedSecret::new("previous-token"), until)),
            previous_unread: false,
            read_at: Instant::now(),
        }
    }

    #[test]
    fn the_previous_version_passes_only_within_its_grace() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let within = versions(Some(now + hour));
        assert!(within.accept(b"current-token", now));
        assert!(within.accept(b"previous-token", now));
        assert!(!within.accept(b"other-token", now));
        let after = versions(Some(now - hour));
        assert!(after.accept(b"current-token", now));
        assert!(!after.accept(b"previous-token", now), "past its grace");
        assert!(!versions(None).accept(b"previous-token", now));
    }

    #[tokio::test]
    async fn a_fixed_token_is_never_read_again() {
        let check = TokenCheck::fixed(SharedSecret::new("local"));
        assert!(check.accepts(Some(b"local")).await);
        assert!(!check.accepts(Some(b"remote")).await);
        assert!(!check.accepts(None).await);
        assert!(!format!("{check:?}").contains("local"));
    }
}
