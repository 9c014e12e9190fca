#!/usr/bin/env python3
"""Checks of template.yaml that cfn-lint, sam validate and checkov do not make.

    python3 scripts/check-template.py template.yaml

- Closed until configured: AllowedSourceCidrs has no default, the token is
  required by default, and the template's Rules refuse a stack open to the
  whole internet without the token (evaluated here for each case).
- Where data lives (queues, log groups, the secret) is retained when the stack
  is deleted or the resource replaced.
- Every function has a reserved-concurrency setting; every Lambda permission
  names the real stage and a route; no extra stage (OpenApiVersion is set).
- The token never sits in the functions' environment, only the secret's ARN.
- The archive bucket has Object Lock with the retention parameters, versioning
  and no public access, and its policy denies deletes to everyone.

Exits non-zero, listing every failure.
"""
import sys

import yaml


class Tag:
    """A CloudFormation short-form function, e.g. !Ref X -> {"Ref": "X"}."""


def constructor(name):
    def build(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        key = "Ref" if name == "Ref" else f"Fn::{name}"
        return {key: value}

    return build


for tag in ["Ref", "GetAtt", "Sub", "If", "Not", "Equals", "And", "Or", "Join", "Condition",
            "Select", "Split", "Contains", "FindInMap", "ImportValue", "Base64", "Cidr", "GetAZs"]:
    yaml.SafeLoader.add_constructor(f"!{tag}", constructor(tag))


def archive_bucket_problems(properties):
    """The archive keeps evidence for years: Object Lock with a default
    retention from the parameters, versioning, no public access."""
    problems = []
    if properties.get("ObjectLockEnabled") is not True:
        problems.append("Object Lock is not enabled")
    retention = properties.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
    if retention.get("Mode") != {"Ref": "ArchiveLockMode"} or retention.get("Days") != {"Ref": "ArchiveRetentionDays"}:
        problems.append(f"default retention is not ArchiveLockMode for ArchiveRetentionDays: {retention}")
    if properties.get("VersioningConfiguration", {}).get("Status") != "Enabled":
        problems.append("versioning is not enabled")
    block = properties.get("PublicAccessBlockConfiguration", {})
    if not all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")):
        problems.append("public access is not blocked")
    return problems


def evaluate(expr, params, conditions):
    """Evaluates a Rules/Conditions expression for parameter values `params`."""
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, args), = expr.items()
        if fn == "Ref":
            return params[args]
        if fn == "Fn::Equals":
            return evaluate(args[0], params, conditions) == evaluate(args[1], params, conditions)
        if fn == "Fn::Not":
            return not evaluate(args[0], params, conditions)
        if fn == "Fn::And":
            return all(evaluate(a, params, conditions) for a in args)
        if fn == "Fn::Or":
            return any(evaluate(a, params, conditions) for a in args)
        if fn == "Fn::Contains":
            return evaluate(args[1], params, conditions) in evaluate(args[0], params, conditions)
        if fn == "Condition":
            return evaluate(conditions[args], params, conditions)
        raise ValueError(f"cannot evaluate {fn}")
    return expr


def deployable(template, params):
    """The AssertDescriptions of every Rules assertion that fails for `params`."""
    failed = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params, {}):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], params, {}):
                failed.append(assertion.get("AssertDescription", "an assertion"))
    return failed


def main():
    with open(sys.argv[1]) as f:
        template = yaml.safe_load(f)
    parameters = template["Parameters"]
    resources = template["Resources"]
    problems = []

    if "Default" in parameters["AllowedSourceCidrs"]:
        problems.append("AllowedSourceCidrs has a default: the stack must be closed until the ranges are given")
    if parameters["RequireWebhookToken"].get("Default") != "true":
        problems.append("the webhook token must be required by default")
    defaults = {name: p.get("Default") for name, p in parameters.items()}
    world = ["0.0.0.0/0", "::/0"]
    cases = [
        # (what, parameters, deployable?)
        ("open to the world without the token", dict(defaults, AllowedSourceCidrs=world, RequireWebhookToken="false"), False),
        ("open to IPv4 without the token", dict(defaults, AllowedSourceCidrs=["0.0.0.0/0"], RequireWebhookToken="false"), False),
        ("a blank range", dict(defaults, AllowedSourceCidrs=[""]), False),
        ("open to the world with the token", dict(defaults, AllowedSourceCidrs=world), True),
        ("the vendors' ranges without the token", dict(defaults, AllowedSourceCidrs=["203.0.113.0/24"], RequireWebhookToken="false"), True),
        ("the vendors' ranges with the token (the defaults otherwise)", dict(defaults, AllowedSourceCidrs=["203.0.113.0/24"]), True),
    ]
    for what, params, expected in cases:
        failed = deployable(template, params)
        if (not failed) != expected:
            problems.append(f"{what}: expected {'deployable' if expected else 'refused'}, got {failed or 'deployable'}")

    for name, resource in resources.items():
        kind = resource["Type"]
        if kind in ("AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::SecretsManager::Secret", "AWS::DynamoDB::Table",
                    "AWS::S3::Bucket"):
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if resource.get(policy) != "Retain":
                    problems.append(f"{name}: {policy} is not Retain")
        if kind == "AWS::Serverless::Function":
            properties = resource["Properties"]
            events = properties.get("Events", {})
            if events and all(e.get("Type") == "SQS" for e in events.values()):
                # A queue consumer: bounded by its event source mapping, invoked by no API.
                if "Role" not in properties or "Policies" in properties:
                    problems.append(f"{name}: a queue consumer needs its own Role (SAM's SQS event attaches a managed policy on every queue)")
                for event_name, event in events.items():
                    if "MaximumConcurrency" not in event.get("Properties", {}).get("ScalingConfig", {}):
                        problems.append(f"{name}: event {event_name} has no ScalingConfig.MaximumConcurrency")
                    if "ReportBatchItemFailures" not in event.get("Properties", {}).get("FunctionResponseTypes", []):
                        problems.append(f"{name}: event {event_name} does not report batch item failures")
                continue
            if "ReservedConcurrentExecutions" not in properties:
                problems.append(f"{name}: no ReservedConcurrentExecutions")
            if events:
                problems.append(f"{name}: SAM events grant invocation from any stage; use an explicit permission")
        if kind == "AWS::Lambda::Permission":
            source = resource["Properties"].get("SourceArn", {})
            text = source.get("Fn::Sub", "") if isinstance(source, dict) else source
            if "/${StageName}/*/hooks/" not in text:
                problems.append(f"{name}: SourceArn {text!r} does not name the stage and a route")
        if kind == "AWS::Serverless::Api" and "OpenApiVersion" not in resource["Properties"]:
            problems.append(f"{name}: no OpenApiVersion (SAM would add a stage named Stage)")
        if kind == "AWS::S3::Bucket" and name == "ArchiveBucket":
            problems.extend(f"ArchiveBucket: {p}" for p in archive_bucket_problems(resource["Properties"]))
        if kind == "AWS::SQS::QueuePolicy" and name == "QueuesPolicy":
            queues = {q["Ref"] for q in resource["Properties"]["Queues"]}
            # A statement under Fn::If counts as its true branch (the option on).
            statements = [
                st["Fn::If"][1] if "Fn::If" in st else st
                for st in resource["Properties"]["PolicyDocument"]["Statement"]
            ]
            send_denied = {
                arn["Fn::GetAtt"][0]
                for statement in statements
                if statement["Effect"] == "Deny" and statement["Action"] == "sqs:SendMessage"
                for arn in statement["Resource"]
            }
            for queue in sorted(queues - send_denied):
                problems.append(f"QueuesPolicy: anyone with IAM rights may send to {queue}")
            taking = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:PurgeQueue"}
            guarded = any(
                statement["Effect"] == "Deny"
                and taking <= set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
                and statement["Resource"] == {"Fn::GetAtt": ["QuarantineQueue", "Arn"]}
                for statement in statements
            )
            if not guarded:
                problems.append("QueuesPolicy: with an operator role, others may still take from the quarantine")
        if kind == "AWS::Serverless::Api":
            body = resource["Properties"].get("DefinitionBody", {})
            responses = body.get("x-amazon-apigateway-gateway-responses", {})
            for response_type, response in responses.items():
                text = str(response.get("responseTemplates", {}))
                if "/hooks/" in text:
                    problems.append(f"{name}: the {response_type} gateway response names a route")
        if kind == "AWS::S3::BucketPolicy" and name == "ArchiveBucketPolicy":
            denied = {
                action
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]
                if statement["Effect"] == "Deny" and statement.get("Principal") == "*" and "Condition" not in statement
                for action in statement["Action"]
            }
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
                if action not in denied:
                    problems.append(f"ArchiveBucketPolicy: {action} is not denied to everyone")
    errors_alarm = resources.get("ArchiveErrorsAlarm", {}).get("Properties", {})
    if errors_alarm.get("Dimensions", [{}])[0].get("Value") != {"Ref": "ArchiveErrorsRule"}:
        problems.append("no alarm on records Firehose writes under errors/ (ArchiveErrorsAlarm on ArchiveErrorsRule)")
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    if "ARCHIVE_STREAM" not in variables:
        problems.append("ARCHIVE_STREAM is not in the functions' environment")
    if "ALLOW_UNAUTHENTICATED" in variables:
        problems.append("ALLOW_UNAUTHENTICATED is in the functions' environment: a deployed stack is never open on purpose")
    if "SHARED_SECRET" in variables:
        problems.append("SHARED_SECRET is in the functions' environment: use SHARED_SECRET_ARN")

    for problem in problems:
        print(f"template: {problem}")
    if problems:
        sys.exit(1)
    print(f"template: closed until configured ({len(cases)} parameter cases), data retained, limits set, archive locked")


if __name__ == "__main__":
    main()
