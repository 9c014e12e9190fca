#!/usr/bin/env python3
"""The template as CloudFormation receives it: the SAM transform, offline
(samtranslator), with every optional part switched on, for checkov.

    python3 scripts/transform-template.py template.yaml > transformed.json

On: the reference consumer, a KMS key, the archive, an operator role, the
webhook token, API tracing, fallback queues in another region, the custom
domain with its failover record and health checks. The checkov skips written beside a SAM resource
(with their justifications) are carried to the resources SAM generates from
it (WebhookApi -> WebhookApiStage, WebhookApiDeployment…), where checkov
would otherwise see them unjustified.
"""
import json
import os
import sys

import yaml
from samtranslator.translator.transform import transform

EVERYTHING_ON = {
    "ArtemisSourceCidrs": "203.0.113.0/24,2001:db8::/48",
    "AmlyzeSourceCidrs": "198.51.100.0/24",
    "RequireWebhookToken": "true",
    "ReferenceConsumer": "true",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "Archive": "true",
    "OperatorRoleArn": "arn:aws:iam::123456789012:role/operator",
    "ApiGatewayTracing": "true",
    "PrewarmSqsConnection": "true",
    "EventsQueueName": "webhook-events",
    "AlarmEmail": "oncall@example.com",
    "FallbackQueueArn": "arn:aws:sqs:us-west-2:123456789012:webhook-events",
    "FallbackQuarantineQueueArn": "arn:aws:sqs:us-west-2:123456789012:webhook-quarantine",
    "FallbackKmsKeyArns": "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-000000000001",
    "FallbackSenderRoleArns": "arn:aws:iam::123456789012:role/other-region-artemis",
    "DomainName": "hooks.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000002",
    "HostedZoneId": "Z0000000000000000000",
    "FailoverRole": "PRIMARY",
}


class ManagedPolicies:
    """The managed policies SAM may attach, by name (no IAM call offline)."""

    def load(self):
        return {
            name: f"arn:aws:iam::aws:policy/{path}{name}"
            for path, name in [
                ("service-role/", "AWSLambdaBasicExecutionRole"),
                ("service-role/", "AWSLambdaSQSQueueExecutionRole"),
                ("", "AWSXrayWriteOnlyAccess"),
            ]
        }


def intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {name: value}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    yaml.SafeLoader.add_multi_constructor("!", intrinsic)
    with open(sys.argv[1]) as f:
        template = yaml.safe_load(f)
    # As `sam package` leaves it: the code in S3.
    template["Globals"]["Function"]["CodeUri"] = "s3://placeholder/bootstrap.zip"
    sam_skips = {
        name: resource["Metadata"]["checkov"]
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith("AWS::Serverless::") and "checkov" in resource.get("Metadata", {})
    }
    parameters = {name: value for name, value in EVERYTHING_ON.items() if name in template["Parameters"]}
    transformed = transform(template, parameters, ManagedPolicies())
    for name, resource in transformed["Resources"].items():
        for origin, skips in sam_skips.items():
            if name != origin and name.startswith(origin) and "checkov" not in resource.get("Metadata", {}):
                resource.setdefault("Metadata", {})["checkov"] = skips
    # Every optional part on: the conditions that switch them are true here.
    json.dump({**transformed, "Parameters": {
        name: {**p, "Default": parameters.get(name, p.get("Default"))}
        for name, p in transformed.get("Parameters", {}).items()
    }}, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
