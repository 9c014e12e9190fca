//! The least-privilege policy of a function's role (`make cargo-lambda-policy`).

use serde_json::{json, Value};

use super::{Function, PlanError, Vars};

/// Where the functions' resources live: taken from `QUEUE_URL`
/// (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    partition: &'static str,
    region: String,
    id: String,
}

/// An SQS queue URL's ARN, and the account it names: the host
/// `sqs.REGION.amazonaws.com` (`.com.cn` in China) or the legacy
/// `REGION.queue.amazonaws.com`.
fn queue_arn(var: &str, url: &str) -> Result<(String, Account), PlanError> {
    let malformed = |reason: &str| PlanError::Malformed {
        var: var.to_owned(),
        reason: format!("{reason} (got {url:?})"),
    };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| malformed("expected an https:// SQS queue URL"))?;
    let (host, path) = rest.split_once('/').ok_or_else(|| malformed("no queue in the URL"))?;
    let (id, name) = path
        .trim_end_matches('/')
        .split_once('/')
        .ok_or_else(|| malformed("expected …/ACCOUNT_ID/QUEUE_NAME"))?;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split_once('.'))
        .map(|(region, _)| region)
        .or_else(|| host.split_once(".queue.amazonaws.").map(|(region, _)| region))
        .filter(|region| !region.is_empty() && !region.contains('.'))
        .ok_or_else(|| malformed("expected the host sqs.REGION.amazonaws.com"))?;
    let partition = if host.ends_with(".amazonaws.com.cn") {
        "aws-cn"
    } else {
        "aws"
    };
    let account = Account {
        partition,
        region: region.to_owned(),
        id: id.to_owned(),
    };
    let arn = format!("arn:{partition}:sqs:{region}:{id}:{name}");
    Ok((arn, account))
}

/// The permissions policy `function`'s role needs, and no more: send to the
/// two queues (and read the events queue's attributes with `SQS_PREWARM`),
/// put to the archive stream, read the vendor's own secret, write its logs
/// and traces; with `KMS_KEY_ARN`, use that key only through those services.
/// With `FALLBACK_QUEUE_URL` (or `FALLBACK_QUARANTINE_QUEUE_URL`), send to
/// exactly those queues too, and with `FALLBACK_KMS_KEY_ARNS` use those keys
/// only through SQS in the fallback region.
pub fn policy(function: &Function, vars: Vars<'_>) -> Result<Value, PlanError> {
    let env = |name: &str| function.env.get(name).map(String::as_str);
    let (events, account) = queue_arn("QUEUE_URL", env("QUEUE_URL").unwrap_or_default())?;
    let (quarantine, _) = queue_arn("QUARANTINE_QUEUE_URL", env("QUARANTINE_QUEUE_URL").unwrap_or_default())?;
    let Account { partition, region, id } = &account;
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": [events, quarantine],
    })];
    let mut fallback_queues = Vec::new();
    let mut fallback_region = env("FALLBACK_REGION").map(str::to_owned);
    for var in ["FALLBACK_QUEUE_URL", "FALLBACK_QUARANTINE_QUEUE_URL"] {
        if let Some(url) = env(var) {
            let (arn, there) = queue_arn(var, url)?;
            fallback_region.get_or_insert(there.region);
            fallback_queues.push(arn);
        }
    }
    if !fallback_queues.is_empty() {
        statements.push(json!({ "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": fallback_queues }));
    }
    let fallback_keys: Vec<String> = vars("FALLBACK_KMS_KEY_ARNS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if env("SQS_PREWARM").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        statements.push(json!({ "Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": events }));
    }
    if let Some(stream) = env("ARCHIVE_STREAM") {
        let arn = if stream.starts_with("arn:") {
            stream.to_owned()
        } else {
            format!("arn:{partition}:firehose:{region}:{id}:deliverystream/{stream}")
        };
        statements.push(json!({ "Effect": "Allow", "Action": "firehose:PutRecordBatch", "Resource": arn }));
    }
    if let Some(secret) = env("SHARED_SECRET_ARN") {
        statements.push(json!({ "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret }));
    }
    statements.push(json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": format!("arn:{partition}:logs:{region}:{id}:log-group:/aws/lambda/{}:*", function.name),
    }));
    statements.push(json!({
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": "*",
    }));
    if let Some(key) = vars("KMS_KEY_ARN").filter(|v| !v.trim().is_empty()) {
        let mut services = vec![format!("sqs.{region}.amazonaws.com")];
        if function.env.contains_key("SHARED_SECRET_ARN") {
            services.push(format!("secretsmanager.{region}.amazonaws.com"));
        }
        if function.env.contains_key("ARCHIVE_STREAM") {
            services.push(format!("firehose.{region}.amazonaws.com"));
        }
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key.trim(),
            "Condition": { "StringEquals": { "kms:ViaService": services } },
        }));
    }
    match (&fallback_region, fallback_keys.is_empty()) {
        (Some(there), false) if !fallback_queues.is_empty() => statements.push(json!({
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": fallback_keys,
            "Condition": { "StringEquals": { "kms:ViaService": format!("sqs.{there}.amazonaws.com") } },
        })),
        (_, false) => {
            return Err(PlanError::Missing(
                "FALLBACK_QUEUE_URL (FALLBACK_KMS_KEY_ARNS names the fallback queues' keys)".to_owned(),
            ))
        }
        _ => {}
    }
    Ok(json!({ "Version": "2012-10-17", "Statement": statements }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{base, vars};
    use super::super::{plan, Purpose};
    use super::*;
    use intake::Provider;

    #[test]
    fn the_policy_names_only_this_functions_resources() {
        let mut settings = base();
        settings.extend([("ARCHIVE_STREAM", "intake-archive"), ("SQS_PREWARM", "true")]);
        settings.push(("KMS_KEY_ARN", "arn:aws:kms:eu-west-1:123456789012:key/k"));
        let lookup = vars(&settings);
        let functions = plan(&[Provider::Artemis, Provider::Amlyze], &lookup, Purpose::Policy).expect("valid");
        let artemis = policy(&functions[0], &lookup).expect("a policy").to_string();
        let amlyze = policy(&functions[1], &lookup).expect("a policy").to_string();
        for text in [&artemis, &amlyze] {
            assert!(text.contains("arn:aws:sqs:eu-west-1:123456789012:events"));
            assert!(text.contains("arn:aws:sqs:eu-west-1:123456789012:quarantine"));
            assert!(text.contains("arn:aws:firehose:eu-west-1:123456789012:deliverystream/intake-archive"));
            assert!(text.contains("sqs:GetQueueAttributes"));
            assert!(text.contains("kms:ViaService"));
        }
        assert!(artemis.contains("log-group:/aws/lambda/webhook-artemis:*"));
        assert!(
            !artemis.contains("secretsmanager"),
            "artemis has no secret here: {artemis}"
        );
        assert!(amlyze.contains("secret:amlyze-token"));
        assert!(!amlyze.contains("webhook-artemis"));
    }

    #[test]
    fn the_fallback_queues_and_their_keys_are_named_exactly() {
        use super::super::tests::{FALLBACK_QUARANTINE, FALLBACK_QUEUE};
        let mut settings = base();
        settings.extend([
            ("FALLBACK_QUEUE_URL", FALLBACK_QUEUE),
            ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
            (
                "FALLBACK_KMS_KEY_ARNS",
                "arn:aws:kms:us-west-2:123456789012:key/west, arn:aws:kms:us-west-2:123456789012:key/west2",
            ),
        ]);
        let lookup = vars(&settings);
        let functions = plan(&[Provider::Artemis, Provider::Amlyze], &lookup, Purpose::Policy).expect("valid");
        for function in &functions {
            let document = policy(function, &lookup).expect("a policy");
            let statements = document["Statement"].as_array().expect("statements");
            let sends: Vec<String> = statements
                .iter()
                .filter(|s| s["Action"] == "sqs:SendMessage")
                .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            assert_eq!(
                sends,
                [
                    "arn:aws:sqs:eu-west-1:123456789012:events",
                    "arn:aws:sqs:eu-west-1:123456789012:quarantine",
                    "arn:aws:sqs:us-west-2:123456789012:events-west",
                    "arn:aws:sqs:us-west-2:123456789012:quarantine-west",
                ]
            );
            let keys = statements
                .iter()
                .find(|s| s["Resource"][0] == "arn:aws:kms:us-west-2:123456789012:key/west")
                .expect("the fallback keys");
            assert_eq!(keys["Resource"].as_array().map(Vec::len), Some(2));
            assert_eq!(
                keys["Condition"]["StringEquals"]["kms:ViaService"],
                "sqs.us-west-2.amazonaws.com"
            );
            // Only X-Ray's write actions, which take no resource, name "*".
            let wildcards: Vec<&Value> = statements.iter().filter(|s| s["Resource"] == "*").collect();
            assert_eq!(wildcards.len(), 1, "{document}");
            assert_eq!(wildcards[0]["Action"][0], "xray:PutTraceSegments");
        }
        // FALLBACK_REGION wins over the URL's host (a local server's URL has none).
        settings.push(("FALLBACK_REGION", "us-east-2"));
        let lookup = vars(&settings);
        let functions = plan(&[Provider::Artemis], &lookup, Purpose::Policy).expect("valid");
        assert!(policy(&functions[0], &lookup)
            .expect("a policy")
            .to_string()
            .contains("sqs.us-east-2.amazonaws.com"));
        // Keys without a fallback queue name nothing to use them for.
        let lookup = vars(
            &[
                base().as_slice(),
                &[("FALLBACK_KMS_KEY_ARNS", "arn:aws:kms:us-west-2:123456789012:key/west")],
            ]
            .concat(),
        );
        let functions = plan(&[Provider::Artemis], &lookup, Purpose::Policy).expect("valid");
        assert!(policy(&functions[0], &lookup).is_err());
    }

    #[test]
    fn a_queue_url_that_names_no_account_is_refused_for_the_policy() {
        assert!(queue_arn("QUEUE_URL", "http://127.0.0.1:5000/q").is_err());
        let (arn, account) = queue_arn("QUEUE_URL", "https://sqs.cn-north-1.amazonaws.com.cn/1/q.fifo").expect("valid");
        assert_eq!(arn, "arn:aws-cn:sqs:cn-north-1:1:q.fifo");
        assert_eq!(account.partition, "aws-cn");
    }
}
