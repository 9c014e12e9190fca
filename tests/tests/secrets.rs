//! `SHARED_SECRET_ARN`: the token read from Secrets Manager (moto) at init,
//! and again by a warm function when a token matches no known version (at
//! most once per interval, one read at a time). The current version passes;
//! the previous one only within `PREVIOUS_TOKEN_GRACE`; anything else is a
//! 401. The header is preferred over `?token=`.

use std::time::{Duration, Instant};

use harness::faults::FaultProxy;
use harness::stack::{send, Stack};
use harness::{secrets, Call, FrontDoor, Moto};
use intake::testing::TokenCheck;
use intake::testing::DEFAULT_PREVIOUS_GRACE;
use intake::{App, ConfigError, Provider};

const INSERT: &str = include_str!("../../events/bodies/artemis-insert.json");
const ONE: &str = "token-one-0123456789abcdef";
const TWO: &str = "token-two-0123456789abcdef";

/// The token check of `SHARED_SECRET_ARN` = `arn`, read through `endpoint`
/// as `App::from_env` reads it.
async fn token_check(endpoint: &str, arn: &str, grace: Duration) -> Result<TokenCheck, ConfigError> {
    let client = secrets::client(endpoint).await;
    TokenCheck::from_secrets_manager(client, arn, grace)
        .await
        .map_err(|reason| ConfigError::Malformed {
            var: "SHARED_SECRET_ARN",
            reason,
        })
}

/// An artemis app on `stack` whose token is `token`.
async fn app_with(stack: &Stack, arn: &str, token: TokenCheck) -> App {
    let mut app = stack.app(Provider::Artemis, &[("SHARED_SECRET_ARN", arn)]);
    assert_eq!(app.config.secret_arn.as_deref(), Some(arn));
    app.token = Some(token);
    app
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
async fn a_rotation_is_accepted_by_a_warm_function_and_the_previous_token_within_its_grace() {
    let stack = Stack::new(false).await;
    let moto = &Moto::shared().endpoint;
    let client = secrets::client(moto).await;
    let arn = secrets::create(&client, "webhook-token", ONE).await;
    let interval = Duration::from_millis(600);
    let token = token_check(moto, &arn, DEFAULT_PREVIOUS_GRACE)
        .await
        .expect("the secret is read");
    let app = app_with(&stack, &arn, token.with_reread_interval(interval)).await;
    assert_eq!(status_with(&app, Some(ONE), None).await, 202);
    assert_eq!(status_with(&app, None, Some(ONE)).await, 202);
    assert_eq!(status_with(&app, Some(TWO), None).await, 401);
    assert_eq!(status_with(&app, None, None).await, 401);

    secrets::rotate(&client, &arn, TWO).await;
    // Within the interval since the last read, the versions read stand...
    assert_eq!(status_with(&app, Some(TWO), None).await, 401, "read too recently");
    // ...after it, the unknown token makes this warm function read again.
    tokio::time::sleep(interval).await;
    assert_eq!(
        status_with(&app, Some(TWO), None).await,
        202,
        "the rotated token, while warm"
    );
    assert_eq!(
        status_with(&app, Some(ONE), None).await,
        202,
        "the previous one, within its grace"
    );
    for wrong in ["token-three-0123456789abcdef", "", "token-two-0123456789abcde"] {
        assert_eq!(status_with(&app, Some(wrong), None).await, 401, "{wrong:?}");
    }
    // The header is preferred: a right query token does not save a wrong header.
    assert_eq!(status_with(&app, Some("wrong"), Some(TWO)).await, 401);
    assert_eq!(stack.queued().await.len(), 4, "every 202, and nothing else");

    // With no grace, a new environment refuses the previous version at once,
    // and so does a warm one once it has read the rotation.
    let strict = token_check(moto, &arn, Duration::ZERO).await.unwrap();
    let app = app_with(&stack, &arn, strict.with_reread_interval(interval)).await;
    assert_eq!(status_with(&app, Some(ONE), None).await, 401, "no grace");
    assert_eq!(status_with(&app, Some(TWO), None).await, 202);
    let third = "token-three-0123456789abcdef";
    secrets::rotate(&client, &arn, third).await;
    tokio::time::sleep(interval).await;
    assert_eq!(status_with(&app, Some(third), None).await, 202);
    assert_eq!(
        status_with(&app, Some(TWO), None).await,
        401,
        "no grace for the version it replaced"
    );
}

/// Contract: a flood of wrong tokens makes no more than one
/// `GetSecretValue` per interval, and requests that arrive together while
/// the secret is read share that read.
#[tokio::test]
async fn a_flood_of_wrong_tokens_reads_the_secret_at_most_once_per_interval() {
    let stack = Stack::new(false).await;
    let moto = &Moto::shared().endpoint;
    let arn = secrets::create(&secrets::client(moto).await, "flood-token", ONE).await;
    let proxy = FaultProxy::start(moto).await;
    let calls = || proxy.requests();

    // The default interval (30 s): right after init, a flood reads nothing.
    let token = token_check(&proxy.endpoint, &arn, DEFAULT_PREVIOUS_GRACE)
        .await
        .unwrap();
    assert_eq!(calls(), 2, "init reads AWSCURRENT and AWSPREVIOUS");
    let app = app_with(&stack, &arn, token).await;
    for i in 0..100 {
        assert_eq!(status_with(&app, Some(&format!("wrong-{i}")), None).await, 401);
    }
    assert_eq!(calls(), 2, "no read within 30 s of the last one");

    // A short interval: one read per interval however many wrong tokens,
    // and 20 concurrent wrong tokens after it share one read.
    let interval = Duration::from_millis(500);
    let token = token_check(&proxy.endpoint, &arn, DEFAULT_PREVIOUS_GRACE)
        .await
        .unwrap();
    let app = app_with(&stack, &arn, token.with_reread_interval(interval)).await;
    let before = calls();
    let started = Instant::now();
    let mut refused = 0;
    while started.elapsed() < interval * 3 + interval / 2 {
        refused += usize::from(status_with(&app, Some("wrong"), None).await == 401);
    }
    let reads = calls() - before;
    assert!(refused > 20, "{refused} requests in the flood");
    assert!((2..=3).contains(&reads), "{reads} reads over 3.5 intervals");

    tokio::time::sleep(interval).await;
    let before = calls();
    let together: Vec<u16> = futures_util::future::join_all(
        (0..20).map(|i| status_with(&app, Some(if i == 7 { ONE } else { "wrong" }), None)),
    )
    .await;
    assert_eq!(together.iter().filter(|s| **s == 401).count(), 19);
    assert_eq!(calls() - before, 1, "concurrent wrong tokens share one read");
    assert_eq!(stack.queued().await.len(), 1);
}

/// The emergency revocation of docs/security.md: two new versions (the
/// first thrown away), so the leaked value is neither `AWSCURRENT` nor
/// `AWSPREVIOUS`. A new environment refuses it whatever
/// `PREVIOUS_TOKEN_GRACE` says, so no grace setting, in any order, brings it
/// back; a warm environment drops it at once when the vendor's new token
/// reaches it, and one only the thief calls within the versions' maximum age.
#[tokio::test]
async fn a_revoked_token_is_refused_everywhere_whatever_the_grace_and_the_order() {
    let stack = Stack::new(false).await;
    let moto = &Moto::shared().endpoint;
    let client = secrets::client(moto).await;
    let leaked = ONE;
    let arn = secrets::create(&client, "revoked-token", leaked).await;
    let (interval, max_age) = (Duration::from_millis(300), Duration::from_millis(900));
    let mut warm = Vec::new();
    for _ in 0..2 {
        let token = token_check(moto, &arn, DEFAULT_PREVIOUS_GRACE).await.unwrap();
        warm.push(app_with(&stack, &arn, token.with_reread_interval(interval).with_max_age(max_age)).await);
    }
    let (reached, quiet) = (&warm[0], &warm[1]);
    assert_eq!(status_with(reached, Some(leaked), None).await, 202);
    assert_eq!(status_with(quiet, Some(leaked), None).await, 202);

    secrets::rotate(&client, &arn, "thrown-away-0123456789abcdef").await;
    secrets::rotate(&client, &arn, TWO).await;
    for grace in [
        DEFAULT_PREVIOUS_GRACE,
        Duration::ZERO,
        Duration::from_secs(10 * 365 * 86_400),
    ] {
        let fresh = app_with(&stack, &arn, token_check(moto, &arn, grace).await.unwrap()).await;
        assert_eq!(
            status_with(&fresh, Some(leaked), None).await,
            401,
            "a new environment, grace {grace:?}"
        );
        assert_eq!(status_with(&fresh, Some(TWO), None).await, 202);
    }
    tokio::time::sleep(interval).await;
    assert_eq!(
        status_with(reached, Some(TWO), None).await,
        202,
        "the vendor's new token"
    );
    assert_eq!(status_with(reached, Some(leaked), None).await, 401, "dropped at once");
    tokio::time::sleep(max_age).await;
    assert_eq!(
        status_with(quiet, Some(leaked), None).await,
        401,
        "a warm environment only the thief calls reads the secret again"
    );
}

/// After a rotation, a warm function reads `AWSPREVIOUS` again; when that
/// read fails it must not assume the version it knew is the previous one:
/// during a revocation that version is the leaked one.
#[tokio::test]
async fn a_previous_version_that_cannot_be_read_is_not_guessed() {
    let stack = Stack::new(false).await;
    let moto = &Moto::shared().endpoint;
    let client = secrets::client(moto).await;
    let arn = secrets::create(&client, "unread-previous", ONE).await;
    let proxy = FaultProxy::start(moto).await;
    let interval = Duration::from_millis(300);
    let token = token_check(&proxy.endpoint, &arn, DEFAULT_PREVIOUS_GRACE)
        .await
        .unwrap();
    let app = app_with(&stack, &arn, token.with_reread_interval(interval)).await;
    assert_eq!(status_with(&app, Some(ONE), None).await, 202);

    secrets::rotate(&client, &arn, "thrown-away-0123456789abcdef").await;
    secrets::rotate(&client, &arn, TWO).await;
    proxy.inject(
        Some("AWSPREVIOUS"),
        harness::faults::Fault::Status(500, "InternalServiceError"),
    );
    tokio::time::sleep(interval).await;
    assert_eq!(status_with(&app, Some(TWO), None).await, 202, "the new current version");
    assert_eq!(
        status_with(&app, Some(ONE), None).await,
        401,
        "the old one is not assumed previous"
    );
    // Once AWSPREVIOUS can be read, the real previous version has its grace.
    proxy.clear();
    tokio::time::sleep(interval).await;
    assert_eq!(status_with(&app, Some("thrown-away-0123456789abcdef"), None).await, 202);
    assert_eq!(status_with(&app, Some(ONE), None).await, 401);
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_init_naming_the_variable() {
    let client = secrets::client(&Moto::shared().endpoint).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf";
    match token_check(&Moto::shared().endpoint, missing, DEFAULT_PREVIOUS_GRACE).await {
        Err(ConfigError::Malformed { var, reason }) => {
            assert_eq!(var, "SHARED_SECRET_ARN");
            assert!(reason.contains("GetSecretValue (AWSCURRENT)"), "{reason}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    let blank = secrets::create(&client, "blank-token", "   ").await;
    let err = token_check(&Moto::shared().endpoint, &blank, DEFAULT_PREVIOUS_GRACE)
        .await
        .unwrap_err();
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
