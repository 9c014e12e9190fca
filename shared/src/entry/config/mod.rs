//! Configuration, read once from the environment at init. A missing or
//! malformed setting is an error that names the variable, so the function
//! fails at init, never at the first request.

use std::time::Duration;

use crate::ingress::request::BODY_LIMIT_CEILING;

use crate::egress::publisher::QueueUrl;
use crate::ingress::access::{Allowlist, SharedSecret};
use crate::vendors::providers::Provider;

pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// How long `AWSPREVIOUS` stays valid after `AWSCURRENT` was created, unless
/// `PREVIOUS_TOKEN_GRACE` says otherwise.
pub const DEFAULT_PREVIOUS_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// A setting the function cannot start with; the message names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is required but not set")]
    Missing(&'static str),
    /// A variable's value cannot be used.
    #[error("{var} is malformed: {reason}")]
    Malformed {
        /// The variable.
        var: &'static str,
        /// What is wrong with its value, and what was expected.
        reason: String,
    },
    /// No token, and no allowlist narrow enough to be a boundary.
    #[error(
        "ALLOW_UNAUTHENTICATED is not true, and {0}: anyone could post. Set SHARED_SECRET_ARN (SHARED_SECRET \
         for local use), or ALLOWED_SOURCE_CIDRS to the vendor's ranges (at most 2^24 IPv4 and 2^96 IPv6 \
         addresses in all), or ALLOW_UNAUTHENTICATED=true to run open on purpose"
    )]
    Unauthenticated(&'static str),
}

impl From<platform::aws::MissingSetting> for ConfigError {
    fn from(missing: platform::aws::MissingSetting) -> Self {
        Self::Missing(missing.0)
    }
}

/// A function's settings, read once at init ([`Config::from_env`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// The vendor this function serves.
    pub provider: Provider,
    /// `QUEUE_URL`: where accepted events go.
    pub queue: QueueUrl,
    /// `QUARANTINE_QUEUE_URL`: where refused requests are kept.
    pub quarantine: Option<QueueUrl>,
    /// `ALLOWED_SOURCE_CIDRS`: the only callers let in (others get 403).
    pub allowlist: Option<Allowlist>,
    /// `SHARED_SECRET` (local use).
    pub secret: Option<SharedSecret>,
    /// `SHARED_SECRET_ARN`: the Secrets Manager secret holding the token;
    /// [`crate::App::from_env`] reads it ([`crate::ingress::token::TokenCheck`]).
    pub secret_arn: Option<String>,
    /// `MAX_BODY_BYTES`: larger bodies get 413 (default and ceiling 256 KiB).
    pub max_body_bytes: usize,
    /// `WebHook-Allowed-Rate` answered to a CloudEvents preflight (`*` when unset).
    pub allowed_rate: Option<String>,
    /// `SQS_PREWARM`: open the SQS connection during init (default off).
    pub prewarm: bool,
    /// `ARCHIVE_STREAM`: the Firehose stream's name (given as a name or an ARN).
    pub archive_stream: Option<String>,
    /// `PREVIOUS_TOKEN_GRACE`: how long the secret's `AWSPREVIOUS` version
    /// stays valid after `AWSCURRENT` was created.
    pub previous_grace: Duration,
    /// `FALLBACK_QUEUE_URL`, `FALLBACK_QUARANTINE_QUEUE_URL`, `FALLBACK_REGION`:
    /// the queues in another region that take what the local ones fail to.
    pub fallback: Option<Fallback>,
    /// `HEALTH_CHECK`: answer `GET …/health` (default off).
    pub health_check: bool,
}

/// The queues in a second region, and that region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// `FALLBACK_QUEUE_URL`: the events queue there.
    pub queue: Option<QueueUrl>,
    /// `FALLBACK_QUARANTINE_QUEUE_URL`: the quarantine queue there.
    pub quarantine: Option<QueueUrl>,
    /// `FALLBACK_REGION`, else the region in the URLs' host.
    pub region: String,
    /// Where the other region's SQS answers, for a URL that is not an AWS
    /// one (a local server): its scheme, host and port. `None` on AWS,
    /// where the SDK finds the endpoint from the region.
    pub endpoint: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(provider: Provider) -> Result<Self, ConfigError> {
        Self::from_lookup(provider, |var| std::env::var(var).ok())
    }

    /// Reads settings through `lookup`; an empty value counts as unset for the
    /// optional settings (so a blank template parameter turns a feature off).
    pub fn from_lookup(provider: Provider, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let queue = match optional("QUEUE_URL") {
            Some(url) => QueueUrl::parse(&url).map_err(|reason| ConfigError::Malformed {
                var: "QUEUE_URL",
                reason,
            })?,
            None => return Err(ConfigError::Missing("QUEUE_URL")),
        };
        let quarantine = optional("QUARANTINE_QUEUE_URL")
            .map(|url| {
                QueueUrl::parse(&url).map_err(|reason| ConfigError::Malformed {
                    var: "QUARANTINE_QUEUE_URL",
                    reason,
                })
            })
            .transpose()?;
        let allowlist = optional("ALLOWED_SOURCE_CIDRS")
            .map(|text| {
                Allowlist::parse(&text).map_err(|reason| ConfigError::Malformed {
                    var: "ALLOWED_SOURCE_CIDRS",
                    reason,
                })
            })
            .transpose()?;
        // The secret is taken as is (no trimming): spaces may be part of it.
        let secret = lookup("SHARED_SECRET")
            .filter(|s| !s.is_empty())
            .map(|s| SharedSecret::new(&s));
        let secret_arn = optional("SHARED_SECRET_ARN");
        if secret.is_some() && secret_arn.is_some() {
            return Err(ConfigError::Malformed {
                var: "SHARED_SECRET_ARN",
                reason: "SHARED_SECRET is set too; set one of them (SHARED_SECRET for local use)".to_owned(),
            });
        }
        let open = match (&allowlist, secret.is_some() || secret_arn.is_some()) {
            (_, true) => None,
            (None, false) => Some("neither a token (SHARED_SECRET_ARN, SHARED_SECRET) nor ALLOWED_SOURCE_CIDRS is set"),
            (Some(list), false) if list.is_wide() => {
                Some("no token is set (SHARED_SECRET_ARN, SHARED_SECRET) and ALLOWED_SOURCE_CIDRS is too wide to be a boundary")
            }
            (Some(_), false) => None,
        };
        let allow_open = optional("ALLOW_UNAUTHENTICATED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if let (Some(why), false) = (open, allow_open) {
            return Err(ConfigError::Unauthenticated(why));
        }
        let max_body_bytes = match optional("MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=BODY_LIMIT_CEILING).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Malformed {
                        var: "MAX_BODY_BYTES",
                        reason: format!(
                            "expected a whole number of bytes from 1 to {BODY_LIMIT_CEILING}, got {text:?}"
                        ),
                    })
                }
            },
        };
        let allowed_rate = optional("WEBHOOK_ALLOWED_RATE");
        if let Some(rate) = &allowed_rate {
            if rate != "*" && rate.parse::<u32>().is_err() {
                return Err(ConfigError::Malformed {
                    var: "WEBHOOK_ALLOWED_RATE",
                    reason: format!("expected * or a whole number of requests per minute, got {rate:?}"),
                });
            }
        }
        let flag = |var: &'static str| match optional(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false" | "0" | "no" | "off") => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError::Malformed {
                var,
                reason: format!("expected true or false, got {other:?}"),
            }),
        };
        let prewarm = flag("SQS_PREWARM")?;
        let health_check = flag("HEALTH_CHECK")?;
        let archive_stream = optional("ARCHIVE_STREAM")
            .map(|text| match crate::egress::archive::stream_name(&text) {
                Some(name) => Ok(name.to_owned()),
                None => Err(ConfigError::Malformed {
                    var: "ARCHIVE_STREAM",
                    reason: format!("expected a Firehose stream name or ARN, got {text:?}"),
                }),
            })
            .transpose()?;
        let previous_grace = match optional("PREVIOUS_TOKEN_GRACE") {
            None => DEFAULT_PREVIOUS_GRACE,
            Some(text) => parse_duration(&text).ok_or_else(|| ConfigError::Malformed {
                var: "PREVIOUS_TOKEN_GRACE",
                reason: format!("expected a duration such as 24h, 90m or 3600s (0 for none), got {text:?}"),
            })?,
        };
        let fallback = Fallback::from_settings(
            &queue,
            quarantine.as_ref(),
            optional("FALLBACK_QUEUE_URL"),
            optional("FALLBACK_QUARANTINE_QUEUE_URL"),
            optional("FALLBACK_REGION"),
        )?;
        Ok(Self {
            provider,
            queue,
            quarantine,
            allowlist,
            secret,
            secret_arn,
            max_body_bytes,
            allowed_rate,
            prewarm,
            archive_stream,
            previous_grace,
            fallback,
            health_check,
        })
    }
}

impl Fallback {
    /// The fallback settings, checked: each URL a queue URL of the same kind
    /// (FIFO or not) as the local queue it stands in for, and a region.
    fn from_settings(
        queue: &QueueUrl,
        quarantine: Option<&QueueUrl>,
        events_url: Option<String>,
        quarantine_url: Option<String>,
        region: Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let parse = |var: &'static str, text: Option<String>, local: Option<&QueueUrl>| {
            let Some(text) = text else { return Ok(None) };
            let url = QueueUrl::parse(&text).map_err(|reason| ConfigError::Malformed { var, reason })?;
            match local {
                Some(local) if local.fifo != url.fifo => Err(ConfigError::Malformed {
                    var,
                    reason: format!(
                        "the fallback must be a queue of the same kind as the local one ({}), got {text:?}",
                        if local.fifo { "FIFO" } else { "standard" }
                    ),
                }),
                _ => Ok(Some(url)),
            }
        };
        let events = parse("FALLBACK_QUEUE_URL", events_url, Some(queue))?;
        if quarantine_url.is_some() && quarantine.is_none() {
            return Err(ConfigError::Malformed {
                var: "FALLBACK_QUARANTINE_QUEUE_URL",
                reason: "it stands in for QUARANTINE_QUEUE_URL, which is not set".to_owned(),
            });
        }
        let kept = parse("FALLBACK_QUARANTINE_QUEUE_URL", quarantine_url, quarantine)?;
        if let (Some(a), Some(b)) = (&events, &kept) {
            if let (Some(one), Some(other)) = (aws_region_of(&a.url), aws_region_of(&b.url)) {
                if one != other {
                    return Err(ConfigError::Malformed {
                        var: "FALLBACK_QUARANTINE_QUEUE_URL",
                        reason: format!("the fallback queues must be in one region ({one} and {other})"),
                    });
                }
            }
        }
        let Some(first) = events.as_ref().or(kept.as_ref()) else {
            return Ok(None);
        };
        let host = aws_region_of(&first.url);
        let region = match (region, &host) {
            (Some(region), _) => region,
            (None, Some(region)) => region.clone(),
            (None, None) => {
                return Err(ConfigError::Malformed {
                    var: "FALLBACK_REGION",
                    reason: format!(
                        "the fallback queue's URL names no AWS region ({:?}): set FALLBACK_REGION",
                        first.url
                    ),
                })
            }
        };
        let endpoint = match host {
            Some(_) => None,
            None => Some(origin_of(&first.url)),
        };
        Ok(Some(Self {
            queue: events,
            quarantine: kept,
            region,
            endpoint,
        }))
    }
}

/// The region in an SQS URL's host: `sqs.REGION.amazonaws.com` (also
/// `.amazonaws.com.cn`) or the legacy `REGION.queue.amazonaws.com`.
fn aws_region_of(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", region, "amazonaws", "com", ..] => region,
        ["sqs-fips", region, "amazonaws", "com", ..] => region,
        [region, "queue", "amazonaws", "com", ..] => region,
        _ => return None,
    };
    Some((*region).to_owned())
}

/// `scheme://host:port` of a URL.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

/// A whole number of hours (`24h`), minutes (`90m`) or seconds (`3600s`, or
/// bare `3600`).
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    let n: u64 = number.parse().ok()?;
    Some(Duration::from_secs(n.checked_mul(seconds_per)?))
}

#[cfg(test)]
mod tests;
