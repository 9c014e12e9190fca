//! Secrets Manager on moto: the webhook token stored as the template stores
//! it (a plain `SecretString`), and rotated as an operator rotates it.

use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_sdk_secretsmanager::Client;

/// A Secrets Manager client pointed at `endpoint`, with the project's SDK settings.
pub async fn client(endpoint: &str) -> Client {
    let config = platform::aws::sdk_defaults()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    Client::new(&config)
}

/// A new secret holding `token`; returns its ARN.
pub async fn create(client: &Client, name: &str, token: &str) -> String {
    let name = format!("{name}-{}-{}", std::process::id(), unique());
    let created = client
        .create_secret()
        .name(name)
        .secret_string(token)
        .send()
        .await
        .expect("create_secret");
    created.arn().expect("an ARN").to_owned()
}

/// A new value for the secret: it becomes `AWSCURRENT`, the old one `AWSPREVIOUS`.
pub async fn rotate(client: &Client, arn: &str, token: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(token)
        .send()
        .await
        .expect("put_secret_value");
}

fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}
