//! One pipeline per vendor, configured as the functions are (the same
//! environment variables), for the tools that replay records of any vendor.

use aws_sdk_sqs::Client;
use intake::QueueUrl;
use intake::{App, Config, ConfigError, Provider};
use platform::aws::tool_config;

pub struct Apps {
    client: Client,
    apps: Vec<App>,
}

impl Apps {
    /// The SQS client and an [`App`] for every [`Provider`], from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = tool_config().await;
        let client = aws_sdk_sqs::Client::new(&sdk);
        let firehose = aws_sdk_firehose::Client::new(&sdk);
        let apps = Provider::ALL
            .iter()
            .map(|&provider| {
                // The tools take no requests: they run records a function kept
                // through the pipeline (and skip the unauthenticated ones), so
                // they need no sender boundary of their own.
                let lookup = |var: &str| match var {
                    "ALLOW_UNAUTHENTICATED" => Some("true".to_owned()),
                    _ => std::env::var(var).ok(),
                };
                Config::from_lookup(provider, lookup).map(|config| App::new(config, client.clone(), firehose.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { client, apps })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The pipeline of `provider`'s function.
    pub fn of(&self, provider: Provider) -> Option<&App> {
        self.apps.iter().find(|app| app.config.provider == provider)
    }

    /// `QUARANTINE_QUEUE_URL` (the same for every vendor).
    pub fn quarantine(&self) -> Option<&QueueUrl> {
        self.apps.first().and_then(|app| app.config.quarantine.as_ref())
    }
}
