//! `make verify` against a stack on moto: the built `verify` binary reads a
//! CloudFormation stack's outputs and parameters, takes each vendor's token
//! from Secrets Manager, sends its probes over HTTP to the built functions
//! (behind a small front door, as API Gateway would deliver them), and finds
//! their events in an archive bucket with Object Lock that a Firehose stream
//! writes.
//!
//! moto's Firehose writes its objects without the bucket's default retention
//! (S3 applies it to every object written, whoever writes it): where a test
//! wants the archive to behave as S3 does, a task here applies it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule,
};
use harness::emulator::RuntimeApi;
use harness::front_door::{event_of, http_response};
use harness::function::json_log_env;
use harness::function::{function_binary, Function};
use harness::sqs::{self, drain};
use harness::Moto;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const RETENTION_DAYS: i32 = 30;

/// What the archive does with an object Firehose writes.
#[derive(Clone, Copy, PartialEq)]
enum Writes {
    /// Locked with the bucket's default retention, as S3 does.
    Locked,
    /// Left as moto leaves them: a bucket that does not lock.
    Unlocked,
}

/// A deployed stack on moto: the functions behind their front door, the
/// queue, the archive, and the stack that names them.
struct Deployment {
    stack: String,
    queue: String,
    _functions: Vec<Function>,
}

async fn s3() -> aws_sdk_s3::Client {
    harness::archive::s3_client(&Moto::shared().raw_endpoint).await
}

/// A bucket with Object Lock (GOVERNANCE, [`RETENTION_DAYS`] by default) and
/// a stream that files what it gets under today's `kind=event/dt=…/`.
async fn archive(name: &str, writes: Writes) -> (String, String) {
    let moto = Moto::shared();
    let s3 = s3().await;
    s3.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create the bucket");
    let retention = DefaultRetention::builder()
        .mode(ObjectLockRetentionMode::Governance)
        .days(RETENTION_DAYS)
        .build();
    s3.put_object_lock_configuration()
        .bucket(name)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(ObjectLockRule::builder().default_retention(retention).build())
                .build(),
        )
        .send()
        .await
        .expect("the bucket's default retention");
    let today = time::OffsetDateTime::now_utc().date();
    let destination = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::123456789012:role/archive-delivery")
        .bucket_arn(format!("arn:aws:s3:::{name}"))
        .prefix(format!("kind=event/dt={today}/"))
        .compression_format(aws_sdk_firehose::types::CompressionFormat::Gzip)
        .build()
        .expect("destination");
    harness::archive::firehose_client(&moto.raw_endpoint)
        .await
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .expect("create the stream");
    if writes == Writes::Locked {
        tokio::spawn(lock_what_is_written(s3, name.to_owned()));
    }
    (name.to_owned(), name.to_owned())
}

/// S3's default retention, for the objects moto's Firehose writes.
async fn lock_what_is_written(s3: aws_sdk_s3::Client, bucket: String) {
    let mut locked = std::collections::HashSet::new();
    loop {
        let keys = platform::archive::keys(&s3, &bucket, "").await.unwrap_or_default();
        let new: Vec<String> = keys.into_iter().filter(|k| !locked.contains(k)).collect();
        for key in new {
            let until = time::OffsetDateTime::now_utc() + time::Duration::days(RETENTION_DAYS.into());
            let retention = ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(until.unix_timestamp()))
                .build();
            let applied = s3
                .put_object_retention()
                .bucket(&bucket)
                .key(&key)
                .retention(retention)
                .send()
                .await;
            assert!(applied.is_ok(), "retention on {key}: {applied:?}");
            locked.insert(key);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The front door: `POST /prod/hooks/<vendor>` as an HTTP API event to the
/// vendor's function, its answer as HTTP.
async fn front_door(apis: HashMap<&'static str, RuntimeApi>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let apis = Arc::new(apis);
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let apis = apis.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let apis = apis.clone();
                    async move {
                        let vendor = request.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
                        let event = event_of(request, peer.ip()).await;
                        let document = match apis.get(vendor.as_str()) {
                            Some(api) => api
                                .invoke(event.to_string().as_bytes(), Duration::from_secs(30))
                                .await
                                .ok()
                                .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
                            None => None,
                        };
                        Ok::<_, std::convert::Infallible>(http_response(document.as_ref()))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Deploys the two functions with their tokens, the archive, and a stack
/// whose outputs name them; `stack_tokens` are what the stack's secrets
/// hold (the functions' own unless a test says otherwise).
async fn deploy(name: &str, writes: Writes, stack_tokens: Option<[&str; 2]>) -> Deployment {
    let moto = Moto::shared();
    let client = sqs::client(&moto.endpoint).await;
    let queue = sqs::create_queue(&client, &format!("{name}-events"), false).await;
    let quarantine = sqs::create_queue(&client, &format!("{name}-quarantine"), false).await;
    let (bucket, stream) = archive(&format!("{name}-{}", std::process::id()), writes).await;
    let secrets = harness::secrets::client(&moto.raw_endpoint).await;
    let tokens = [
        "artemis-token-for-verify-0123456789",
        "amlyze-token-for-verify-0123456789",
    ];
    let mut functions = Vec::new();
    let mut apis = HashMap::new();
    let mut stack_secrets = Vec::new();
    for (n, vendor) in ["artemis", "amlyze"].into_iter().enumerate() {
        let arn = harness::secrets::create(&secrets, &format!("{name}-{vendor}"), tokens[n]).await;
        stack_secrets.push(match stack_tokens {
            Some(other) => harness::secrets::create(&secrets, &format!("{name}-{vendor}-stack"), other[n]).await,
            None => arn.clone(),
        });
        let mut env: Vec<(String, String)> = json_log_env(&moto.endpoint)
            .into_iter()
            .filter(|(k, _)| k != "ALLOW_UNAUTHENTICATED")
            .collect();
        for (k, v) in [
            ("QUEUE_URL", queue.as_str()),
            ("QUARANTINE_QUEUE_URL", quarantine.as_str()),
            ("ARCHIVE_STREAM", stream.as_str()),
            ("SHARED_SECRET_ARN", arn.as_str()),
        ] {
            env.push((k.to_owned(), v.to_owned()));
        }
        let api = RuntimeApi::start().await.unwrap();
        let log = std::env::temp_dir().join(format!("{name}-{vendor}-{}.log", std::process::id()));
        functions.push(Function::spawn(&function_binary(vendor), &api, vendor, &env, Some(&log)).unwrap());
        apis.insert(vendor, api);
    }
    let door = front_door(apis).await;
    let template = serde_json::json!({
        "Parameters": {
            "ArchiveLockMode": {"Type": "String"},
            "ArchiveRetentionDays": {"Type": "Number"},
        },
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "ArtemisWebhookUrl": {"Value": format!("http://{door}/prod/hooks/artemis")},
            "AmlyzeWebhookUrl": {"Value": format!("http://{door}/prod/hooks/amlyze")},
            "ArtemisSecret": {"Value": stack_secrets[0]},
            "AmlyzeSecret": {"Value": stack_secrets[1]},
            "ArchiveBucket": {"Value": bucket},
        },
    });
    let stack = format!("{name}-{}", std::process::id());
    let config = sqs::local_config(platform::aws::sdk_defaults(), &moto.raw_endpoint).await;
    let parameter = |key: &str, value: &str| {
        aws_sdk_cloudformation::types::Parameter::builder()
            .parameter_key(key)
            .parameter_value(value)
            .build()
    };
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .parameters(parameter("ArchiveLockMode", "GOVERNANCE"))
        .parameters(parameter("ArchiveRetentionDays", &RETENTION_DAYS.to_string()))
        .send()
        .await
        .expect("create the stack");
    Deployment {
        stack,
        queue,
        _functions: functions,
    }
}

/// Runs the built `verify` on `stack` with the operator's settings (moto's).
async fn verify(stack: &str, wait_seconds: u64) -> (bool, String) {
    let moto = Moto::shared();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["--stack", stack, "--wait", &wait_seconds.to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", &moto.raw_endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "operator")
        .env("AWS_SECRET_ACCESS_KEY", "operator")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("run verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_stack_proves_itself_and_its_probes_are_marked() {
    let deployment = deploy("verify-ok", Writes::Locked, None).await;
    let (passed, text) = verify(&deployment.stack, 60).await;
    assert!(passed, "{text}");
    for vendor in ["artemis", "amlyze"] {
        assert!(text.contains(&format!("{vendor:<10} 202 from http://")), "{text}");
    }
    assert_eq!(text.matches(": GOVERNANCE until ").count(), 2, "{text}");
    assert!(
        !text.contains("token-for-verify"),
        "the token is never printed:\n{text}"
    );
    // What reached the queue is two probes, which consumers can tell.
    let client = sqs::client(&Moto::shared().endpoint).await;
    let queued = drain(&client, &deployment.queue).await;
    assert_eq!(queued.len(), 2);
    for message in &queued {
        let event = intake_queue::Event::from_json(&message.body).unwrap();
        assert!(event.is_probe(), "{}", message.body);
        assert_eq!(event.attributes().subject, Some(intake_queue::PROBE_SUBJECT));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_that_does_not_lock_and_a_refused_token_fail_verify() {
    let deployment = deploy(
        "verify-bad",
        Writes::Unlocked,
        Some([
            "artemis-token-for-verify-0123456789",
            "a-token-the-function-does-not-know",
        ]),
    )
    .await;
    let (passed, text) = verify(&deployment.stack, 5).await;
    assert!(!passed, "{text}");
    assert!(text.contains("FAILED     amlyze: 401: the token was refused"), "{text}");
    assert!(text.contains("artemis    202 from"), "{text}");
    assert!(
        text.contains("FAILED     artemis: archived in kind=event/dt=") && text.contains("no Object Lock retention"),
        "{text}"
    );
    assert!(!text.contains("verified:"), "{text}");
}

#[tokio::test]
async fn a_stack_that_is_not_there_fails_verify() {
    let (passed, text) = verify("no-such-stack", 5).await;
    assert!(!passed);
    assert!(text.contains("FAILED     describe stack no-such-stack"), "{text}");
}
