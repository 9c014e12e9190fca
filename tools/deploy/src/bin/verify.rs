//! A deployed stack proves itself (`make verify STACK=…`), with the
//! operator's AWS credentials:
//!
//!   verify --stack NAME [--wait SECONDS]
//!
//! Reads the stack's outputs and parameters, sends one probe per vendor to
//! its webhook URL with the token from the vendor's secret, expects a 202,
//! then waits (at most SECONDS, default 420: Firehose buffers up to 300 s)
//! for each probe's event in the archive and checks that its object carries
//! the stack's Object Lock retention. Prints what it found; exits non-zero
//! on any failure. The token is never printed. See tools/deploy/src/verify.rs.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use deploy::verify::{
    accepted_id, check_retention, event_prefixes, holds_event, probe, send, web_client, Lock, Retention, StackFacts,
};
use time::OffsetDateTime;

/// A deployed stack proves itself (make verify STACK=…), with the operator's
/// AWS credentials: one probe per vendor through its webhook URL must get a
/// 202, reach the archive and carry the stack's Object Lock retention.
#[derive(Parser)]
#[command(name = "verify")]
struct Args {
    /// The CloudFormation stack's name.
    #[arg(long, value_name = "NAME")]
    stack: String,
    /// How long to wait for the probes in the archive (Firehose buffers up to 300 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 420)]
    wait: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match verify(&args).await {
        Ok(()) => {
            println!("verified: both routes answer 202 with the token, and the archive keeps and locks what they take");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("FAILED     {problem}");
            }
            eprintln!(
                "verify: {} problem(s); docs/operations.md, \"Verifying a deployment\"",
                problems.len()
            );
            ExitCode::FAILURE
        }
    }
}

async fn verify(args: &Args) -> Result<(), Vec<String>> {
    let config = platform::aws::tool_config().await;
    let stack = StackFacts::read(&aws_sdk_cloudformation::Client::new(&config), &args.stack)
        .await
        .map_err(|e| vec![e])?;
    let routes = stack.routes().map_err(|e| vec![e])?;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let client = web_client().map_err(|e| vec![e])?;
    let sent = OffsetDateTime::now_utc();
    let nonce = sent.unix_timestamp_nanos().to_string();
    let mut problems = Vec::new();
    let mut probes: HashMap<String, &str> = HashMap::new();
    for route in &routes {
        let token = match &route.secret {
            Some(secret) => match token(&secrets, secret).await {
                Ok(token) => Some(token),
                Err(why) => {
                    problems.push(format!("{}: the token from {secret}: {why}", route.provider));
                    continue;
                }
            },
            None => None,
        };
        let probe = probe(route.provider, sent, &nonce);
        let answer = send(&client, &route.url, &probe, token.as_deref()).await;
        match answer.and_then(|(status, body)| accepted_id(status, &body)) {
            Ok(id) => {
                println!("{:<10} 202 from {}: event {id}", route.provider, route.url);
                probes.insert(id, route.provider);
            }
            Err(why) => problems.push(format!("{}: {why}", route.provider)),
        }
    }
    match stack.archive_bucket() {
        None => println!("archive    none (Archive=false): nothing to check"),
        Some(_) if probes.is_empty() => {}
        Some(bucket) => match stack.lock() {
            Ok(lock) => {
                println!(
                    "archive    {bucket}: waiting at most {} s for the probes' records (Firehose buffers up to 300 s), expecting {} for {} days",
                    args.wait,
                    lock.mode,
                    lock.days
                );
                problems.extend(archived(&config, bucket, &lock, probes, sent, Duration::from_secs(args.wait)).await);
            }
            Err(why) => problems.push(why),
        },
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The token in `secret`'s current version.
async fn token(secrets: &aws_sdk_secretsmanager::Client, secret: &str) -> Result<String, String> {
    let value = secrets
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|err| aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string())?;
    value
        .secret_string()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "no token in its SecretString".to_owned())
}

/// Waits for each probe's event record under the stream's keys, and checks
/// the retention of the object it is in. An object found without a
/// retention is checked again until the deadline (S3 locks at write, so on
/// AWS the first look decides).
async fn archived(
    config: &aws_config::SdkConfig,
    bucket: &str,
    lock: &Lock,
    mut probes: HashMap<String, &str>,
    sent: OffsetDateTime,
    wait: Duration,
) -> Vec<String> {
    let s3 = ops::history::s3_client(config);
    let started = Instant::now();
    let poll = (wait / 10).clamp(Duration::from_secs(1), Duration::from_secs(15));
    let mut read: HashSet<String> = HashSet::new();
    let mut found: Vec<(String, &str, OffsetDateTime)> = Vec::new();
    let mut last_problem = HashMap::new();
    loop {
        for prefix in event_prefixes(sent - time::Duration::minutes(1), OffsetDateTime::now_utc()) {
            let objects = match new_objects(&s3, bucket, &prefix, sent, &read).await {
                Ok(objects) => objects,
                Err(why) => return vec![why],
            };
            for (key, written) in objects {
                let text = match platform::archive::object(&s3, bucket, &key).await {
                    Ok(text) => text,
                    Err(why) => {
                        return vec![format!(
                            "archive: {why} (reading needs a role in ArchiveReaderRoleArns or OperatorRoleArn)"
                        )]
                    }
                };
                read.insert(key.clone());
                let ids: Vec<String> = probes.keys().filter(|id| holds_event(&text, id)).cloned().collect();
                for id in ids {
                    if let Some(provider) = probes.remove(&id) {
                        found.push((key.clone(), provider, written));
                    }
                }
            }
        }
        let mut checked = Vec::new();
        for (index, (key, provider, written)) in found.iter().enumerate() {
            match retention(&s3, bucket, key)
                .await
                .and_then(|r| check_retention(lock, &r, *written))
            {
                Ok(held) => {
                    println!(
                        "{provider:<10} archived after {} s in {key}: {held}",
                        started.elapsed().as_secs()
                    );
                    checked.push(index);
                }
                Err(why) => {
                    last_problem.insert(key.clone(), format!("{provider}: archived in {key}, but {why}"));
                }
            }
        }
        for index in checked.into_iter().rev() {
            let (key, _, _) = found.remove(index);
            last_problem.remove(&key);
        }
        if probes.is_empty() && found.is_empty() {
            return Vec::new();
        }
        if started.elapsed() >= wait {
            let mut problems: Vec<String> = found
                .iter()
                .filter_map(|(key, _, _)| last_problem.get(key).cloned())
                .collect();
            problems.extend(probes.values().map(|provider| {
                format!(
                    "{provider}: its event is not in the archive after {} s: is Firehose delivering? (the dashboard's archive widgets; objects under errors/ in {bucket})",
                    wait.as_secs()
                )
            }));
            return problems;
        }
        tokio::time::sleep(poll).await;
    }
}

/// The objects under `prefix` written since shortly before `sent` and not
/// yet read, with when they were written.
async fn new_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    sent: OffsetDateTime,
    read: &HashSet<String>,
) -> Result<Vec<(String, OffsetDateTime)>, String> {
    let since = sent.unix_timestamp() - 60;
    let listed = platform::archive::objects(s3, bucket, prefix)
        .await
        .map_err(|why| format!("archive: {why}"))?;
    let mut objects = Vec::new();
    for object in listed {
        let (Some(key), Some(modified)) = (object.key, object.last_modified) else {
            continue;
        };
        if modified.secs() >= since && !read.contains(&key) {
            let written = OffsetDateTime::from_unix_timestamp(modified.secs()).unwrap_or(sent);
            objects.push((key, written));
        }
    }
    Ok(objects)
}

/// An object's Object Lock retention, from its headers (HeadObject: S3
/// sends them only to a caller allowed `s3:GetObjectRetention`).
async fn retention(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Retention, String> {
    let head = s3.head_object().bucket(bucket).key(key).send().await.map_err(|err| {
        format!(
            "its retention could not be read: {}",
            aws_sdk_s3::error::DisplayErrorContext(err)
        )
    })?;
    Ok(Retention {
        mode: head.object_lock_mode().map(|m| m.as_str().to_owned()),
        until: head
            .object_lock_retain_until_date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok()),
    })
}
