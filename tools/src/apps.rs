//! One pipeline per vendor, configured as the functions are (the same
//! environment variables), for the tools that replay records of any vendor.

use aws_sdk_sqs::Client;
use intake::config::QueueUrl;
use intake::{App, Config, ConfigError, Provider};

pub struct Apps(Vec<App>);

impl Apps {
    /// An [`App`] for every [`Provider`], from the environment.
    pub fn from_env(client: &Client) -> Result<Self, ConfigError> {
        Provider::ALL
            .into_iter()
            .map(|provider| Config::from_env(provider).map(|config| App::new(config, client.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The pipeline of `provider`'s function.
    pub fn of(&self, provider: Provider) -> Option<&App> {
        self.0.iter().find(|app| app.config.provider == provider)
    }

    /// `QUARANTINE_QUEUE_URL` (the same for every vendor).
    pub fn quarantine(&self) -> Option<&QueueUrl> {
        self.0.first().and_then(|app| app.config.quarantine.as_ref())
    }
}
