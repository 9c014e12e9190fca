//! The AWS clients, built once at init from one SDK configuration: the
//! standard AWS settings, explicit timeouts, bounded retries, and an HTTPS
//! client that trusts Amazon's roots only (the cheapest cold start;
//! BENCHMARKS.md). Each service's client is built from [`sdk_config`] with
//! its own endpoint variable ([`service_endpoint`]).
//!
//! The functions read their settings from the environment alone, as Lambda
//! gives them ([`sdk_config`]): no profile files, no instance metadata, no
//! credential chain. That keeps init from touching the file system and keeps
//! the SDK's configuration loader (and the STS client it carries) out of
//! the deployed binaries. The operator tools, run from a laptop, use the
//! full loader ([`tool_config`]).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::{SharedCredentialsProvider, SharedHttpClient};

use std::time::Duration;

/// Connecting to an AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of a call (the SDK retries within [`OPERATION_TIMEOUT`]).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per call, the first included (the SDK's retries).
pub const MAX_ATTEMPTS: u32 = 3;
/// A whole call, its retries included: what a function may wait on AWS
/// for one request's sends, so that it answers well within API Gateway's wait.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(5_500);

/// A setting Lambda always gives a function is not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is required but not set")]
pub struct MissingSetting(pub &'static str);

/// Where settings are read from: the process environment, or a test's map.
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// A setting, when set to something.
fn env_var(env: Lookup, var: &str) -> Option<String> {
    env(var).filter(|v| !v.is_empty())
}

fn env_is_set(var: &str) -> bool {
    env_var(&process_env, var).is_some()
}

/// A boolean setting as the SDK reads it: `true`, any case.
fn env_flag(env: Lookup, var: &str) -> bool {
    env_var(env, var).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The behaviour version every client is pinned to.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The operator tools' SDK settings: [`sdk_defaults`] with the full loader
/// (profiles, SSO), environment credentials first when they are set.
pub async fn tool_config() -> SdkConfig {
    let mut loader = sdk_defaults();
    if env_is_set("AWS_ACCESS_KEY_ID") && env_is_set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// A function's SDK configuration, from the variables Lambda sets: region
/// (`AWS_REGION`, else `AWS_DEFAULT_REGION`), credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and
/// the SDK's standard `AWS_ENDPOINT_URL`, `AWS_USE_FIPS_ENDPOINT`,
/// `AWS_USE_DUALSTACK_ENDPOINT` and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
/// (service-specific endpoints: [`service_endpoint`]); with explicit
/// timeouts, bounded retries and [`https_client`].
///
/// Lambda always sets the region and credentials; without them init stops,
/// naming the variable, rather than searching profile files and instance
/// metadata a function does not have.
pub fn sdk_config() -> Result<SdkConfig, MissingSetting> {
    sdk_config_from(&process_env)
}

fn sdk_config_from(env: Lookup) -> Result<SdkConfig, MissingSetting> {
    let region = env_var(env, "AWS_REGION")
        .or_else(|| env_var(env, "AWS_DEFAULT_REGION"))
        .ok_or(MissingSetting("AWS_REGION"))?;
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        if env_var(env, var).is_none() {
            return Err(MissingSetting(var));
        }
    }
    let mut builder = SdkConfig::builder()
        .behavior_version(behavior_version())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .timeout_config(timeouts())
        .retry_config(retries())
        .http_client(https_client())
        .use_fips(env_flag(env, "AWS_USE_FIPS_ENDPOINT"))
        .use_dual_stack(env_flag(env, "AWS_USE_DUALSTACK_ENDPOINT"));
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    if !env_flag(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        builder.set_endpoint_url(env_var(env, "AWS_ENDPOINT_URL"));
    }
    Ok(builder.build())
}

/// The endpoint configured for one service (`AWS_ENDPOINT_URL_SQS`,
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, …), which wins over
/// `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`.
pub fn service_endpoint(service: &str) -> Option<String> {
    service_endpoint_from(&process_env, service)
}

fn service_endpoint_from(env: Lookup, service: &str) -> Option<String> {
    if env_flag(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        return None;
    }
    env_var(env, &format!("AWS_ENDPOINT_URL_{service}"))
}

/// The function's SQS client ([`sdk_config`], `AWS_ENDPOINT_URL_SQS`).
pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(url) = service_endpoint("SQS") {
        config = config.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// An SQS client for another region (a fallback queue's): the function's
/// settings, that region, and `endpoint` for a local server (on AWS, `None`:
/// the SDK finds the region's endpoint, whatever `AWS_ENDPOINT_URL` says).
pub fn sqs_in(sdk: &SdkConfig, region: &str, endpoint: Option<&str>) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk).region(Region::new(region.to_owned()));
    config.set_endpoint_url(endpoint.map(str::to_owned));
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// The SDK settings every client of the harness and the operator tools
/// uses: a pinned behaviour version, explicit timeouts, bounded retries.
pub fn sdk_defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(behavior_version())
        .timeout_config(timeouts())
        .retry_config(retries())
        .http_client(https_client())
}

/// The root CAs of Amazon Trust Services, which every AWS endpoint's
/// certificate chains to (SQS, and VPC endpoints for it).
pub const AMAZON_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// The SDK's own HTTPS client (hyper, rustls, ring), trusting
/// [`AMAZON_ROOTS`] only, unless `SSL_CERT_FILE` or `SSL_CERT_DIR` names the
/// roots to trust (a local HTTPS endpoint with its own CA, or a proxy).
///
/// Why not the system's store, as the SDK does by default: reading and parsing
/// its certificates was most of the instructions of a cold start's init
/// (callgrind, BENCHMARKS.md), paid before the first request on every cold
/// start, for a client that only ever talks to SQS.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = if env_is_set("SSL_CERT_FILE") || env_is_set("SSL_CERT_DIR") {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Not reachable with these settings; the SDK's default client is the fallback.
        Err(_) => builder.build_https(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    }

    const LAMBDA: [(&str, &str); 3] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];

    #[test]
    fn a_function_is_configured_from_lambdas_variables_alone() {
        let config = sdk_config_from(&from(&LAMBDA)).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
        assert!(config.sleep_impl().is_some(), "timeouts and retries need a sleep");
        assert_eq!(config.endpoint_url(), None);
        assert_eq!(config.use_fips(), Some(false));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(MAX_ATTEMPTS));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
    }

    #[test]
    fn the_region_falls_back_to_aws_default_region_and_its_absence_stops_init() {
        let config = sdk_config_from(&from(&[("AWS_DEFAULT_REGION", "us-west-2"), LAMBDA[1], LAMBDA[2]])).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-west-2"));
        let missing = sdk_config_from(&from(&[LAMBDA[1], LAMBDA[2]])).unwrap_err();
        assert!(matches!(missing, MissingSetting("AWS_REGION")), "{missing}");
    }

    #[test]
    fn missing_credentials_stop_init_naming_the_variable() {
        for (left_out, var) in [(1, "AWS_ACCESS_KEY_ID"), (2, "AWS_SECRET_ACCESS_KEY")] {
            let pairs: Vec<(&str, &str)> = LAMBDA
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != left_out)
                .map(|(_, p)| *p)
                .collect();
            let err = sdk_config_from(&from(&pairs)).unwrap_err();
            assert!(matches!(err, MissingSetting(v) if v == var), "{err}");
        }
        // Blank is not set.
        let blank = sdk_config_from(&from(&[LAMBDA[0], LAMBDA[1], ("AWS_SECRET_ACCESS_KEY", "")])).unwrap_err();
        assert!(matches!(blank, MissingSetting("AWS_SECRET_ACCESS_KEY")));
    }

    #[test]
    fn endpoints_follow_the_sdks_variables() {
        let mut pairs = LAMBDA.to_vec();
        pairs.extend([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5001"),
            ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ]);
        let env = from(&pairs);
        let config = sdk_config_from(&env).unwrap();
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(config.use_fips(), Some(true));
        assert_eq!(config.use_dual_stack(), Some(true));
        assert_eq!(
            service_endpoint_from(&env, "SQS").as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(service_endpoint_from(&env, "SECRETS_MANAGER"), None);

        pairs.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
        let env = from(&pairs);
        assert_eq!(sdk_config_from(&env).unwrap().endpoint_url(), None);
        assert_eq!(service_endpoint_from(&env, "SQS"), None);
    }
}
