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

/// An SQS queue URL's ARN, and the account it names.
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
    fn a_queue_url_that_names_no_account_is_refused_for_the_policy() {
        assert!(queue_arn("QUEUE_URL", "http://127.0.0.1:5000/q").is_err());
        let (arn, account) = queue_arn("QUEUE_URL", "https://sqs.cn-north-1.amazonaws.com.cn/1/q.fifo").expect("valid");
        assert_eq!(arn, "arn:aws-cn:sqs:cn-north-1:1:q.fifo");
        assert_eq!(account.partition, "aws-cn");
    }
}
