//! The functions' clients beyond SQS, on the SDK settings of
//! [`platform::aws::sdk_config`]; each honours its service's own endpoint
//! variable.

use aws_config::SdkConfig;
use platform::aws::service_endpoint;

/// The Firehose client of the archive (`AWS_ENDPOINT_URL_FIREHOSE` honoured).
pub(crate) fn firehose(sdk: &SdkConfig) -> aws_sdk_firehose::Client {
    let mut config = aws_sdk_firehose::config::Builder::from(sdk);
    if let Some(url) = service_endpoint("FIREHOSE") {
        config = config.endpoint_url(url);
    }
    aws_sdk_firehose::Client::from_conf(config.build())
}

/// The function's Secrets Manager client (`AWS_ENDPOINT_URL_SECRETS_MANAGER`).
pub(crate) fn secrets_manager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(url) = service_endpoint("SECRETS_MANAGER") {
        config = config.endpoint_url(url);
    }
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}
