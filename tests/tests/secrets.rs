//! `SHARED_SECRET_ARN`: the token read from Secrets Manager (moto) once, at
//! init; during a rotation both the current and the previous version pass,
//! anything else is a 401. The header is preferred over `?token=`.

use harness::stack::{send, Stack};
use harness::{secrets, Call, FrontDoor, Moto};
use intake::access::secret_from_secrets_manager;
use intake::{App, ConfigError, Provider};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");

/// An artemis app on `stack` whose token comes from the secret `arn`, read
/// as `App::from_env` reads it.
async fn app_with_secret(stack: &Stack, arn: &str) -> App {
    let client = secrets::client(&Moto::shared().endpoint).await;
    let mut config = stack.app(Provider::Artemis, &[("SHARED_SECRET_ARN", arn)]).config;
    assert_eq!(config.secret_arn.as_deref(), Some(arn));
    config.secret = Some(
        secret_from_secrets_manager(&client, arn)
            .await
            .expect("the secret is read"),
    );
    App::new(
        config,
        stack.app_client.clone(),
        harness::archive::firehose_client(&Moto::shared().endpoint).await,
    )
}

async fn status_with(app: &App, header: Option<&str>, query: Option<&str>) -> u16 {
    let mut call = Call::post("/hooks/artemis", INSERT);
    if let Some(token) = header {
        call = call.header("x-webhook-token", token);
    }
    if let Some(token) = query {
        call = call.query("token", token);
    }
    send(app, &call, FrontDoor::RestV1).await.status
}

#[tokio::test]
async fn current_and_previous_versions_pass_during_a_rotation_and_nothing_else() {
    let stack = Stack::new(false).await;
    let client = secrets::client(&Moto::shared().endpoint).await;
    let arn = secrets::create(&client, "webhook-token", "token-one-0123456789abcdef").await;

    let app = app_with_secret(&stack, &arn).await;
    assert_eq!(status_with(&app, Some("token-one-0123456789abcdef"), None).await, 202);
    assert_eq!(status_with(&app, None, Some("token-one-0123456789abcdef")).await, 202);
    assert_eq!(status_with(&app, Some("token-two-0123456789abcdef"), None).await, 401);
    assert_eq!(status_with(&app, None, None).await, 401);

    secrets::rotate(&client, &arn, "token-two-0123456789abcdef").await;
    // An environment started before the rotation still has the versions it read.
    assert_eq!(status_with(&app, Some("token-two-0123456789abcdef"), None).await, 401);
    let app = app_with_secret(&stack, &arn).await;
    assert_eq!(
        status_with(&app, Some("token-two-0123456789abcdef"), None).await,
        202,
        "current"
    );
    assert_eq!(
        status_with(&app, Some("token-one-0123456789abcdef"), None).await,
        202,
        "previous"
    );
    for wrong in ["token-three-0123456789abcdef", "", "token-two-0123456789abcde"] {
        assert_eq!(status_with(&app, Some(wrong), None).await, 401, "{wrong:?}");
    }
    // The header is preferred: a right query token does not save a wrong header.
    assert_eq!(
        status_with(&app, Some("wrong"), Some("token-two-0123456789abcdef")).await,
        401
    );
    assert_eq!(stack.queued().await.len(), 4, "every 202, and nothing else");
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_init_naming_the_variable() {
    let client = secrets::client(&Moto::shared().endpoint).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf";
    match secret_from_secrets_manager(&client, missing).await {
        Err(ConfigError::Malformed { var, reason }) => {
            assert_eq!(var, "SHARED_SECRET_ARN");
            assert!(reason.contains("GetSecretValue (AWSCURRENT)"), "{reason}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    let blank = secrets::create(&client, "blank-token", "   ").await;
    let err = secret_from_secrets_manager(&client, &blank).await.unwrap_err();
    assert!(err.to_string().contains("holds no token"), "{err}");
}

#[tokio::test]
async fn the_secret_and_its_arn_are_not_both_set() {
    let err = harness::config(
        Provider::Amlyze,
        &[
            ("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/q"),
            ("SHARED_SECRET", "local"),
            ("SHARED_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x"),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("SHARED_SECRET_ARN is malformed"), "{err}");
}
