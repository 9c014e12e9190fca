//! The AWS clients, built once at init from one SDK configuration: the
//! standard AWS settings, explicit timeouts, bounded retries, and an HTTPS
//! client that trusts Amazon's roots only (the cheapest cold start;
//! BENCHMARKS.md). SQS always; Secrets Manager only when `SHARED_SECRET_ARN`
//! is set.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_config::SdkConfig;
use aws_sdk_sqs::config::SharedHttpClient;

use crate::publisher::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, MAX_ATTEMPTS, PUBLISH_BUDGET};

/// Whether an environment variable is set to something.
fn env_is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// The SQS client alone (the operator tools).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config().await)
}

/// The SDK configuration from the standard AWS settings (region, credentials,
/// `AWS_ENDPOINT_URL[_SQS|_SECRETS_MANAGER]`), with explicit timeouts and
/// bounded retries.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = sdk_defaults();
    // Lambda puts the function's credentials in the environment; reading them
    // from there skips building the rest of the default chain (an STS client
    // for web identity, profile files): about a quarter of init's instructions.
    if env_is_set("AWS_ACCESS_KEY_ID") && env_is_set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// The SDK settings every client of this project uses: a pinned behaviour
/// version, explicit timeouts, bounded retries.
pub fn sdk_defaults() -> aws_config::ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(PUBLISH_BUDGET)
        .build();
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .http_client(https_client())
}

/// The root CAs of Amazon Trust Services, which every AWS endpoint's
/// certificate chains to (SQS, and VPC endpoints for it).
pub const AMAZON_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// The SDK's own HTTPS client (hyper, rustls, aws-lc), trusting
/// [`AMAZON_ROOTS`] only, unless `SSL_CERT_FILE` or `SSL_CERT_DIR` names the
/// roots to trust (a local HTTPS endpoint with its own CA, or a proxy).
///
/// Why not the system's store, as the SDK does by default: reading and parsing
/// its ~140 certificates was 84 % of the instructions of a cold start's init
/// (callgrind, BENCHMARKS.md), paid before the first request on every cold
/// start, for a client that only ever talks to SQS.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = if env_is_set("SSL_CERT_FILE") || env_is_set("SSL_CERT_DIR") {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Not reachable with these settings; the SDK's default client is the fallback.
        Err(_) => builder.build_https(),
    }
}
