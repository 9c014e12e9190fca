#!/usr/bin/env python3
"""Checks of template.yaml that cfn-lint, sam validate and checkov do not make.

    python3 scripts/check-template.py template.yaml [transformed.json]

With the SAM-transformed template (scripts/transform-template.py, every
option on), the evidence checks run on it too, and no function runs on a
role that SAM generated with its managed policies.

- Closed until configured: each vendor's source ranges have no default, the
  token is required by default, and the template's Rules and parameter
  patterns refuse a door open to the whole internet without the token, split
  ranges included (evaluated here for each case).
- One boundary per vendor: each function is given only its own vendor's
  ranges and secret, may read only its own secret, and the API's resource
  policy limits each route to its own vendor's ranges.
- Where data lives (queues, log groups, the secret) is retained when the stack
  is deleted or the resource replaced.
- Every function has a reserved-concurrency setting; every Lambda permission
  names the real stage and a route; no extra stage (OpenApiVersion is set).
- The token never sits in the functions' environment, only the secret's ARN.
- Every alarm's description names its runbook, a section of docs/runbooks.md,
  and every alarm notifies the alarm topic; with neither AlarmEmail nor
  AlarmTopicArn the stack refuses to deploy unless Alarms=off.
- The archive bucket has Object Lock with the retention parameters, versioning
  and no public access, and its policy denies deletes to everyone.
- Who may read and write the evidence (docs/security.md): the archive is
  encrypted with its own key, which the account administers but only the
  delivery role (encrypt) and the readers (decrypt) may use; the bucket
  policy lets only the delivery role write objects and only the readers read
  them, is retained with the bucket, and leaves the lock and lifecycle
  settings to the stack (Object Lock keeps the evidence); Athena results go
  encrypted to a bucket that expires them, through an enforced workgroup in
  which the saved queries run.
- Capacity (docs/capacity.md): with the defaults, each route's throttle and
  burst take the design load (1,000 requests within a second, 300 a second
  sustained) within the account's API Gateway quota; each function's reserved
  concurrency holds the design burst for as long as one request holds an
  environment (docs/bench/capacity.json, measured by make bench-capacity),
  within the account's default concurrency; the budgets fit the timeout; a
  FIFO queue is high-throughput; refusals at the door and Firehose throttling
  are alarmed within a minute.
- Capacity, degraded: each route's rate is at most what its reserved
  concurrency carries at every degraded scenario's hold (reserved /
  warm_mean_s; the scenarios flagged "degraded" in docs/bench/capacity.json,
  or, in a file without the flags, sqs_throttled, sqs_down, archive_down and
  sqs_down_fallback, then as a warning); the summary says what the two
  reservations leave the account's other functions.
- Alarms before refusal: each function's ConcurrentExecutions against its
  reservation, the archive stream's Incoming* against its *PerSecondLimit,
  and SpilledToFallback with a fallback queue.
- The health routes (GET /health/<vendor>): GET only, to the vendor's own
  function, on the real stage, throttled small but above Route 53's
  checkers; the resource policy's only opening beyond the vendors' ranges;
  the functions answer them (HEALTH_CHECK) and may read their own events
  queue's attributes; their throttle is not counted as lost callbacks.
- A second region: the functions get the fallback queues' URLs and region
  (blank when off); each role sends to exactly those queues (never "*") and
  uses their keys only through SQS in that region; the other region's roles
  are exempt only from the events and quarantine queues' send deny; every
  custom-domain, health-check and record resource exists only with
  DomainName, the record a failover alias on a CALCULATED check needing
  every vendor's HTTPS check of this region's execute-api host.
- Transitions (docs/consuming.md): the topic exists with the reference
  consumer, FIFO exactly when the events queue is, encrypted; only the
  consumer's role publishes, only over TLS; the alert topic is optional and
  standard; the consumer is told both.

Exits non-zero, listing every failure.
"""
import ipaddress
import json
import math
import os
import re
import sys

import yaml

VENDORS = ("Artemis", "Amlyze")
# The design load (contract, "Capacity: nothing is refused at the door").
DESIGN_BURST, DESIGN_RATE = 1000, 300
# AWS's default quotas, each with its source in docs/capacity.md: API Gateway
# per account and region (10,000 a second, a 5,000 burst); Lambda concurrency
# per account and region (1,000, of which 100 stay unreserved); Lambda's
# scaling rate (1,000 new environments per function every 10 s).
API_ACCOUNT_RATE, API_ACCOUNT_BURST = 10_000, 5_000
LAMBDA_ACCOUNT_CONCURRENCY, LAMBDA_UNRESERVED_MINIMUM, LAMBDA_SCALING = 1000, 100, 1000
# What Lambda adds to a new environment before the function's own init runs
# (placing it, fetching the code): not measurable here, an allowance taken
# from published cold starts of Rust functions (docs/capacity.md).
COLD_START_ALLOWANCE_S = 0.25
# The scenarios of docs/bench/capacity.json measured while a hop is sick,
# for a file written before each scenario said so itself ("degraded").
DEGRADED_SCENARIOS = ("sqs_throttled", "sqs_down", "archive_down", "sqs_down_fallback")
# Route 53's checkers: each sends a request every RequestInterval, and at
# 30 s an endpoint gets one "about every two seconds" on average
# (docs.aws.amazon.com/Route53/latest/APIReference/API_autonaming_HealthCheckConfig.html):
# about 15 checkers. A health route's throttle must leave them twice their
# rate, and stay small (anyone may call it).
ROUTE53_CHECKERS, HEALTH_ROUTE_MAX_RATE = 30 // 2, 10
HEALTH_ROUTES = ("execute-api:/*/GET/health/artemis", "execute-api:/*/GET/health/amlyze")
DOMAIN_RESOURCE_TYPES = ("AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping",
                         "AWS::Route53::HealthCheck", "AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup")
# What the functions accept as a boundary (Allowlist::is_wide), and what
# CloudFormation accepts as a parameter value.
MAX_IPV4, MAX_IPV6, MAX_PARAMETER_BYTES = 2**24, 2**96, 4096


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


def refused(parameters, params):
    """What the parameters' AllowedPattern and AllowedValues refuse (for a
    list, each value)."""
    failed = []
    for name, value in params.items():
        pattern = parameters.get(name, {}).get("AllowedPattern")
        allowed = parameters.get(name, {}).get("AllowedValues")
        values = value if isinstance(value, list) else [value]
        if pattern and value is not None:
            failed += [f"{name}: {v!r} does not match its pattern" for v in values if not re.fullmatch(pattern, v)]
        if allowed is not None and value is not None:
            failed += [f"{name}: {v!r} is not one of {allowed}" for v in values if str(v) not in [str(a) for a in allowed]]
    return failed


def widest_boundary_problems(parameters):
    """The narrowest ranges the pattern accepts (besides the whole internet),
    as many as fit in one parameter value, must still be a boundary for the
    functions: no list that deploys without the token is wide."""
    problems = []
    for vendor in VENDORS:
        pattern = parameters[f"{vendor}SourceCidrs"]["AllowedPattern"]
        for family, shortest, limit in (("IPv4", "0.0.0.0/{}", MAX_IPV4), ("IPv6", "8000::/{}", MAX_IPV6)):
            widest = next(p for p in range(1, 129) if re.fullmatch(pattern, shortest.format(p)))
            network = ipaddress.ip_network(shortest.format(widest))
            count = (MAX_PARAMETER_BYTES + 1) // (len(shortest.format(widest)) + 1)
            if count * network.num_addresses > limit:
                problems.append(f"{vendor}SourceCidrs: {count} {family} ranges of /{widest} fit in one parameter "
                                f"({count * network.num_addresses} addresses, more than {limit})")
    return problems


def names(value):
    """Every parameter and resource an expression refers to."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            if key in ("Ref", "Fn::GetAtt") and not isinstance(inner, (dict, list)):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            else:
                found |= names(inner)
        return found
    if isinstance(value, list):
        return set().union(*map(names, value)) if value else set()
    return set()


def vendor_boundary_problems(template):
    """Each function gets its own vendor's ranges and secret, and nothing of
    the other vendor's; each route of the API is limited to its vendor's
    ranges."""
    problems = []
    resources = template["Resources"]
    secrets = {"Artemis": {"WebhookTokenSecret", "ArtemisTokenSecretArn"},
               "Amlyze": {"AmlyzeTokenSecret", "AmlyzeTokenSecretArn"}}
    globals_ = template["Globals"]["Function"]["Environment"]["Variables"]
    for shared in ("ALLOWED_SOURCE_CIDRS", "SHARED_SECRET_ARN"):
        if shared in globals_:
            problems.append(f"Globals: {shared} is given to every function, not per vendor")
    for vendor in VENDORS:
        other = next(v for v in VENDORS if v != vendor)
        function = resources[f"{vendor}Function"]["Properties"]
        variables = function.get("Environment", {}).get("Variables", {})
        if names(variables.get("ALLOWED_SOURCE_CIDRS")) != {f"{vendor}SourceCidrs"}:
            problems.append(f"{vendor}Function: ALLOWED_SOURCE_CIDRS is not {vendor}SourceCidrs alone")
        if not secrets[vendor] <= names(variables.get("SHARED_SECRET_ARN")):
            problems.append(f"{vendor}Function: SHARED_SECRET_ARN is not {vendor}'s secret")
        leaked = names(function) & (secrets[other] | {f"{other}SourceCidrs"})
        if leaked:
            problems.append(f"{vendor}Function: is given {other}'s {sorted(leaked)}")
        if function.get("Role") != {"Fn::GetAtt": [f"{vendor}Role", "Arn"]} or "Policies" in function:
            problems.append(f"{vendor}Function: not on its own written-out role ({vendor}Role): SAM's would attach "
                            "AWSLambdaBasicExecutionRole (logs into any log group)")
        role = resources.get(f"{vendor}Role", {}).get("Properties", {})
        statements = [
            statement
            for policy in role.get("Policies", [])
            for statement in policy["PolicyDocument"].get("Statement", [])
            for statement in [statement["Fn::If"][1] if "Fn::If" in statement else statement]
        ]
        logs = [st for st in statements if any(str(a).startswith("logs:") for a in as_list(st["Action"]))]
        if not logs or any(st["Resource"] != {"Fn::GetAtt": [f"{vendor}LogGroup", "Arn"]} for st in logs):
            problems.append(f"{vendor}Role: may write logs elsewhere than {vendor}LogGroup")
        reads = [statement for statement in statements if statement.get("Action") == "secretsmanager:GetSecretValue"]
        if not reads or any(not names(st["Resource"]) or names(st["Resource"]) - secrets[vendor] for st in reads):
            problems.append(f"{vendor}Function: may read a secret other than {vendor}'s")
    policy = resources["WebhookApi"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-policy"]["Statement"]
    for vendor in VENDORS:
        route = f"execute-api:/*/*/hooks/{vendor.lower()}"
        guarded = any(
            st["Effect"] == "Deny" and st["Resource"] == route
            and names(st.get("Condition", {}).get("NotIpAddress", {})) == {f"{vendor}SourceCidrs"}
            for st in policy
        )
        if not guarded:
            problems.append(f"WebhookApi: no resource-policy statement limits {route} to {vendor}SourceCidrs")
    return problems


def redrive_allow_problems(resources):
    """The events dead-letter queue names the events queue as its only
    source, whenever the events queue has a name it can be named by (FIFO,
    or EventsQueueName): the queue's ARN is built from that very name."""
    allow = resources["EventsDeadLetterQueue"]["Properties"].get("RedriveAllowPolicy", {}).get("Fn::If")
    if not allow:
        return ["EventsDeadLetterQueue: no RedriveAllowPolicy: any queue may use it as its dead-letter queue"]
    events = resources["EventsQueue"]["Properties"]["QueueName"]["Fn::If"]
    fifo_name, named = events[1]["Fn::Sub"], events[2]["Fn::If"][1]
    problems = []
    for what, policy, name in (("FIFO", allow[1], f":{fifo_name}"), ("named", allow[2]["Fn::If"][1], "${" + named["Ref"] + "}")):
        arns = [arn["Fn::Sub"] for arn in policy.get("sourceQueueArns", [])]
        if policy.get("redrivePermission") != "byQueue" or len(arns) != 1 or not arns[0].endswith(name):
            problems.append(f"EventsDeadLetterQueue ({what}): RedriveAllowPolicy does not name the events queue alone: {policy}")
    return problems


def runbook_problems(resources, template_path):
    """Every alarm's description names its runbook, a section of
    docs/runbooks.md that exists."""
    runbooks = os.path.join(os.path.dirname(os.path.abspath(template_path)), "docs", "runbooks.md")
    try:
        with open(runbooks) as f:
            sections = {line[3:].strip().lower() for line in f if line.startswith("## ")}
    except OSError:
        return [f"no {runbooks}: the alarms have no runbooks"]
    problems = []
    for name, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        found = re.search(r"Runbook docs/runbooks\.md#([a-z0-9-]+)", resource["Properties"].get("AlarmDescription", ""))
        if not found:
            problems.append(f"{name}: its AlarmDescription names no runbook (docs/runbooks.md#…)")
        elif found.group(1) not in sections:
            problems.append(f"{name}: runbook docs/runbooks.md#{found.group(1)} is not a section there")
    return problems


def statement_of(policy, sid):
    """A policy's statement by Sid (the true branch of an Fn::If)."""
    for statement in policy["Statement"]:
        statement = statement["Fn::If"][1] if "Fn::If" in statement else statement
        if statement.get("Sid") == sid:
            return statement
    return {}


def as_list(value):
    return value if isinstance(value, list) else [value]


def evidence_problems(resources):
    """Who may read and write the archive (contract, "Who may read and write
    the evidence")."""
    problems = []
    policy_resource = resources.get("ArchiveBucketPolicy", {})
    if policy_resource.get("DeletionPolicy") != "Retain" or policy_resource.get("UpdateReplacePolicy") != "Retain":
        problems.append("ArchiveBucketPolicy: not retained with the bucket (a stack update or deletion removes it)")
    policy = policy_resource.get("Properties", {}).get("PolicyDocument", {"Statement": []})
    denied_to_all = {a for st in policy["Statement"] if "Fn::If" not in st and st["Effect"] == "Deny"
                     and st.get("Principal") == "*" and "Condition" not in st for a in as_list(st["Action"])}
    for action in ("s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration"):
        if action in denied_to_all:
            problems.append(f"ArchiveBucketPolicy: {action} is denied to everyone: the stack's own updates would fail")
    writes = statement_of(policy, "OnlyTheStreamWrites")
    if writes.get("Effect") != "Deny" or "s3:PutObject" not in as_list(writes.get("Action", [])) or \
            writes.get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn") != {"Fn::GetAtt": ["ArchiveDeliveryRole", "Arn"]}:
        problems.append("ArchiveBucketPolicy: anyone with IAM rights may put objects into the archive (not only the delivery role)")
    reads = statement_of(policy, "OnlyReadersRead")
    if reads.get("Effect") != "Deny" or "s3:GetObject" not in as_list(reads.get("Action", [])) or "Condition" not in reads:
        problems.append("ArchiveBucketPolicy: anyone with S3 read may read the archive (not only the readers)")
    bucket = resources["ArchiveBucket"]["Properties"]
    default = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    if default.get("SSEAlgorithm") != "aws:kms" or "-archive" not in str(default.get("KMSMasterKeyID")):
        problems.append(f"ArchiveBucket: not encrypted with the archive's own key: {default}")
    stream = resources["ArchiveStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    if stream.get("EncryptionConfiguration", {}).get("KMSEncryptionConfig", {}).get("AWSKMSKeyARN") != {"Fn::GetAtt": ["ArchiveKey", "Arn"]}:
        problems.append("ArchiveStream: does not write with the archive's key")
    key = resources.get("ArchiveKey", {}).get("Properties", {}).get("KeyPolicy", {"Statement": []})
    for statement in key["Statement"]:
        statement = statement["Fn::If"][1] if "Fn::If" in statement else statement
        actions = as_list(statement["Action"])
        uses = any(a in ("kms:Decrypt", "kms:*", "kms:ReEncrypt*", "kms:ReEncryptFrom") for a in actions)
        principal = statement["Principal"].get("AWS")
        if uses and isinstance(principal, dict) and "Fn::Sub" in principal and ":root" in principal["Fn::Sub"]:
            problems.append(f"ArchiveKey: the account itself may decrypt ({statement.get('Sid')}): any IAM principal could be granted reads")
    if statement_of(key, "TheStreamEncrypts").get("Principal", {}).get("AWS") != {"Fn::GetAtt": ["ArchiveDeliveryRole", "Arn"]}:
        problems.append("ArchiveKey: the delivery role does not encrypt with it")
    if not statement_of(key, "ReadersDecrypt"):
        problems.append("ArchiveKey: no statement lets the readers decrypt")
    workgroup = resources.get("ArchiveWorkGroup", {}).get("Properties", {}).get("WorkGroupConfiguration", {})
    encryption = workgroup.get("ResultConfiguration", {}).get("EncryptionConfiguration", {})
    if workgroup.get("EnforceWorkGroupConfiguration") is not True or encryption.get("EncryptionOption") != "SSE_KMS":
        problems.append("ArchiveWorkGroup: Athena results are not forced encrypted into the results bucket")
    rules = resources.get("ArchiveResultsBucket", {}).get("Properties", {}).get("LifecycleConfiguration", {}).get("Rules", [])
    if not any("ExpirationInDays" in rule for rule in rules):
        problems.append("ArchiveResultsBucket: Athena results (PII) never expire")
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Athena::NamedQuery" and resource["Properties"].get("WorkGroup") != {"Ref": "ArchiveWorkGroup"}:
            problems.append(f"{name}: a saved query outside the archive's workgroup (its results could land unencrypted)")
    return problems


def capacity_problems(template, measured_path):
    """The design load holds with the template's defaults (docs/capacity.md).
    Returns the problems and the arithmetic, for the summary line."""
    parameters, resources = template["Parameters"], template["Resources"]
    problems = []
    try:
        with open(measured_path) as f:
            held = {k: v for k, v in json.load(f)["scenarios"].items()}
    except (OSError, ValueError, KeyError) as err:
        return [f"no measured durations ({measured_path}: {err}); run make bench-capacity"], "", []
    warnings = []
    default = lambda name: parameters[name]["Default"]
    api = resources["WebhookApi"]["Properties"]
    routes = {s["ResourcePath"]: s for s in api.get("MethodSettings", [])}
    rates, bursts, reserved = [], [], []
    for vendor in VENDORS:
        route = routes.get(f"/~1hooks~1{vendor.lower()}", {})
        if route.get("ThrottlingRateLimit") != {"Ref": f"{vendor}RateLimit"} or \
                route.get("ThrottlingBurstLimit") != {"Ref": f"{vendor}BurstLimit"}:
            problems.append(f"the {vendor.lower()} route's throttle is not {vendor}RateLimit / {vendor}BurstLimit: {route}")
        rate, burst = default(f"{vendor}RateLimit"), default(f"{vendor}BurstLimit")
        if rate < DESIGN_RATE or burst < DESIGN_BURST:
            problems.append(f"{vendor}: the route takes {rate}/s with a burst of {burst}, under the design load "
                            f"({DESIGN_RATE}/s, {DESIGN_BURST} within a second)")
        rates.append(rate)
        bursts.append(burst)
        reserved.append(default(f"{vendor}ReservedConcurrency"))
    if sum(rates) > API_ACCOUNT_RATE or sum(bursts) > API_ACCOUNT_BURST:
        problems.append(f"the routes' rates ({sum(rates)}/s) or bursts ({sum(bursts)}) pass the account's API Gateway "
                        f"quota ({API_ACCOUNT_RATE}/s, burst {API_ACCOUNT_BURST})")
    if sum(reserved) + LAMBDA_UNRESERVED_MINIMUM > LAMBDA_ACCOUNT_CONCURRENCY:
        problems.append(f"reserved concurrency {sum(reserved)} leaves less than {LAMBDA_UNRESERVED_MINIMUM} of the "
                        f"default account quota of {LAMBDA_ACCOUNT_CONCURRENCY}: the stack would not deploy")
    # How long one request of the design burst holds an environment: a cold
    # one (init and first handshakes, plus Lambda's own part), or a warm one
    # while Firehose throttles (the archive's retry window).
    burst_hold = max(held["normal"]["cold_s"] + COLD_START_ALLOWANCE_S, held["archive_throttled"]["warm_p99_s"],
                     held["normal"]["warm_p99_s"])
    burst_needs = math.ceil(DESIGN_BURST * min(1.0, burst_hold))
    sustained_needs = math.ceil(DESIGN_RATE * held["normal"]["warm_mean_s"])
    for vendor, r in zip(VENDORS, reserved):
        if r < max(burst_needs, sustained_needs):
            problems.append(f"{vendor}ReservedConcurrency {r}: the design burst needs {burst_needs} environments "
                            f"({DESIGN_BURST} x {burst_hold:.3f} s), {DESIGN_RATE}/s sustained {sustained_needs}")
    if burst_needs > LAMBDA_SCALING:
        problems.append(f"the design burst needs {burst_needs} new environments, over Lambda's scaling rate")
    timeout = template["Globals"]["Function"]["Timeout"]
    if held["sqs_down"]["warm_mean_s"] + 1 > timeout:
        problems.append(f"with SQS down a request takes {held['sqs_down']['warm_mean_s']} s, too close to the {timeout} s timeout")
    events = resources["EventsQueue"]["Properties"]
    for prop, value in (("DeduplicationScope", "messageGroup"), ("FifoThroughputLimit", "perMessageGroupId")):
        if events.get(prop, {}).get("Fn::If", [None, None])[:2] != ["IsFifo", value]:
            problems.append(f"EventsQueue: a FIFO queue is not high-throughput ({prop} {value})")
    alarms = {
        "GatewayThrottlesAlarm": "GatewayThrottles",
        "FunctionThrottlesAlarm": "Throttles",
        "ArchiveThrottledAlarm": "ThrottledRecords",
    }
    for alarm, metric in alarms.items():
        props = resources.get(alarm, {}).get("Properties", {})
        stats = [m["MetricStat"] for m in props.get("Metrics", []) if "MetricStat" in m] or \
                [{"Metric": {"MetricName": props.get("MetricName")}, "Period": props.get("Period")}]
        if any(s["Metric"]["MetricName"] != metric or s["Period"] > 60 for s in stats) or not props:
            problems.append(f"{alarm}: not an alarm within a minute on {metric}")
    # The route's rate must not admit more than the reserved environments
    # carry while a hop is sick: each request then holds its environment for
    # the degraded scenario's warm mean (Little's law), and every request
    # past reserved / hold is refused by Lambda at the door (lost).
    flagged = {name: scenario["degraded"] for name, scenario in held.items() if "degraded" in scenario}
    if flagged:
        unflagged = sorted(set(held) - set(flagged))
        if unflagged:
            problems.append(f"{measured_path}: scenarios without \"degraded\": {unflagged}")
        degraded = sorted(name for name, value in flagged.items() if value is True)
    else:
        degraded = sorted(name for name in held if name in DEGRADED_SCENARIOS)
        warnings.append(f"{os.path.basename(measured_path)} says of no scenario whether it is degraded (measured before "
                        f"the fail-fast change?): taking {degraded} as the degraded ones, and the rule below as a "
                        f"warning only; run make bench-capacity")
    if not degraded:
        problems.append(f"{measured_path}: no degraded scenario to check the route rates against")
    carried = []
    for name in degraded:
        hold = held[name]["warm_mean_s"]
        for vendor, rate, r in zip(VENDORS, rates, reserved):
            carries = r / hold if hold > 0 else math.inf
            carried.append(carries)
            if rate > carries:
                finding = (f"{vendor}RateLimit {rate}/s admits more than {vendor}ReservedConcurrency {r} carries while "
                           f"{name} ({r} / {hold} s = {carries:.0f}/s): Lambda would refuse the rest at the door")
                (problems if flagged else warnings).append(finding)
    others = LAMBDA_ACCOUNT_CONCURRENCY - sum(reserved)
    access_log = api.get("AccessLogSetting", {}).get("Format", "")
    door = resources.get("FunctionThrottledAtTheDoorMetric", {}).get("Properties", {})
    if "$context.integration.integrationStatus" not in access_log or '$.lambdaStatus = "429"' not in door.get("FilterPattern", ""):
        problems.append("the access log does not count Lambda's refusals at the door (lambdaStatus 429)")
    arithmetic = (f"capacity: routes {rates}/s, bursts {bursts}; reserved {reserved} >= {max(burst_needs, sustained_needs)} "
                  f"(burst {DESIGN_BURST} x {burst_hold:.3f} s); without refusals at SQS 100 ms "
                  f"{min(reserved) / held['sqs_100ms']['warm_mean_s']:.0f}/s, 1 s {min(reserved) / held['sqs_1s']['warm_mean_s']:.0f}/s, "
                  f"down {min(reserved) / held['sqs_down']['warm_mean_s']:.0f}/s per route; degraded "
                  f"({', '.join(degraded)}) at least {min(carried or [0]):.0f}/s per route against rates {rates}/s; "
                  f"account: reserving {' + '.join(map(str, reserved))} = {sum(reserved)} leaves the account's other "
                  f"functions {others} of the default {LAMBDA_ACCOUNT_CONCURRENCY}")
    return problems, arithmetic, warnings


def transitions_problems(template):
    """The reference consumer's topics (docs/consuming.md, "Transitions"):
    made only with the consumer, FIFO exactly when the events queue is,
    encrypted, published to only by the consumer's role and only over TLS;
    the alert topic optional and standard (email cannot subscribe to FIFO);
    the consumer told both."""
    problems = []
    resources = template["Resources"]
    topic = resources.get("TransitionsTopic")
    if not topic:
        return ["no TransitionsTopic"]
    properties = topic["Properties"]
    if topic.get("Condition") != "DeployConsumer":
        problems.append("TransitionsTopic: not made with the reference consumer (Condition DeployConsumer)")
    if properties.get("FifoTopic") != {"Fn::If": ["IsFifo", True, {"Ref": "AWS::NoValue"}]}:
        problems.append("TransitionsTopic: not FIFO exactly when the events queue is (IsFifo)")
    name = properties.get("TopicName", {}).get("Fn::If", [None, None, None])
    if not (name[0] == "IsFifo" and ".fifo" in json.dumps(name[1]) and ".fifo" not in json.dumps(name[2])):
        problems.append("TransitionsTopic: its name must end in .fifo exactly when it is FIFO")
    alert = resources.get("ComplianceAlertTopic", {})
    for topic_name, resource in (("TransitionsTopic", topic), ("ComplianceAlertTopic", alert)):
        if not resource.get("Properties", {}).get("KmsMasterKeyId"):
            problems.append(f"{topic_name}: not encrypted (KmsMasterKeyId)")
        policies = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"
                    and {"Ref": topic_name} in r["Properties"]["Topics"]]
        if len(policies) != 1:
            problems.append(f"{topic_name}: no topic policy")
            continue
        document = policies[0]["Properties"]["PolicyDocument"]
        only = statement_of(document, "OnlyTheConsumerPublishes")
        if not (only.get("Effect") == "Deny" and only.get("Principal") == "*" and only.get("Action") == "sns:Publish"
                and only.get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn")
                == {"Fn::GetAtt": ["CustomerStateRole", "Arn"]}):
            problems.append(f"{topic_name}: others than the consumer's role may publish")
        tls = statement_of(document, "TlsOnly")
        if not (tls.get("Effect") == "Deny" and "sns:Publish" in as_list(tls.get("Action"))
                and tls.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"):
            problems.append(f"{topic_name}: publishing without TLS is not denied")
        allowed = [st for st in document["Statement"] if st.get("Effect") == "Allow"
                   and "sns:Publish" in as_list(st.get("Action"))]
        if allowed:
            problems.append(f"{topic_name}: its policy allows publishing to {[st.get('Principal') for st in allowed]}")
    if alert.get("Properties", {}).get("FifoTopic"):
        problems.append("ComplianceAlertTopic: FIFO (an email cannot subscribe)")
    if alert.get("Condition") != "CreateComplianceAlertTopic":
        problems.append("ComplianceAlertTopic: not optional (Condition CreateComplianceAlertTopic)")
    variables = resources.get("CustomerStateFunction", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    for variable in ("TRANSITIONS_TOPIC_ARN", "ALERT_TOPIC_ARN", "ALERT_RISK_LEVELS", "STACK_NAME"):
        if variable not in variables:
            problems.append(f"CustomerStateFunction: {variable} is not in its environment")
    return problems


def role_statements(role):
    """A role's policy statements, each with the condition it is under (or None)."""
    found = []
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"].get("Statement", []):
            if "Fn::If" in statement:
                condition, true, false = statement["Fn::If"]
                if isinstance(true, dict) and "Effect" in true:
                    found.append((condition, true))
                if isinstance(false, dict) and "Effect" in false:
                    found.append((f"not {condition}", false))
            else:
                found.append((None, statement))
    return found


def strings(value):
    """Every plain string inside an expression."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for inner in value.values() for t in strings(inner)]
    if isinstance(value, list):
        return [t for inner in value for t in strings(inner)]
    return []


def health_route_problems(template):
    """The health routes: GET only, each to its own vendor's function, on
    the real stage, rate-limited small but above Route 53's checkers, and
    the only thing the resource policy lets callers outside the vendors'
    ranges reach; the functions answer them (HEALTH_CHECK) and may read
    their own events queue's attributes, nothing more."""
    problems = []
    resources = template["Resources"]
    api = resources["WebhookApi"]["Properties"]
    body = api["DefinitionBody"]
    statements = body["x-amazon-apigateway-policy"]["Statement"]
    ranges = {f"{vendor}SourceCidrs" for vendor in VENDORS}
    allows = [st for st in statements if st.get("Effect") == "Allow"]
    open_allows = [st for st in allows if "Condition" not in st]
    ranged = [st for st in allows if "Condition" in st]
    if [sorted(as_list(st.get("Resource"))) for st in open_allows] != [sorted(HEALTH_ROUTES)]:
        problems.append(f"WebhookApi: the resource policy's only unconditional Allow must be the health routes "
                        f"{list(HEALTH_ROUTES)}, got {[st.get('Resource') for st in open_allows]}")
    if len(ranged) != 1 or ranged[0].get("Resource") != "execute-api:/*" \
            or set(ranged[0]["Condition"]) != {"IpAddress"} or names(ranged[0]["Condition"]["IpAddress"]) != ranges:
        problems.append("WebhookApi: every path must be allowed to the vendors' ranges alone (one Allow on "
                        "execute-api:/* with IpAddress ArtemisSourceCidrs and AmlyzeSourceCidrs)")
    for st in statements:
        if st.get("Effect") == "Deny" and any("/hooks/" not in str(r) for r in as_list(st.get("Resource"))):
            problems.append(f"WebhookApi: a Deny beyond the hooks routes would cover the health routes: {st.get('Resource')}")
        if any("health" in str(r) for r in as_list(st.get("NotResource", []))):
            problems.append("WebhookApi: NotResource is not used for the health routes (its abbreviated form is not documented)")
    settings = {(m["ResourcePath"], m["HttpMethod"]): m for m in api.get("MethodSettings", []) if isinstance(m, dict)
                and "ResourcePath" in m}
    intervals = [r["Properties"]["HealthCheckConfig"].get("RequestInterval", 30) for r in resources.values()
                 if r["Type"] == "AWS::Route53::HealthCheck" and r["Properties"]["HealthCheckConfig"].get("Type") == "HTTPS"]
    checkers = ROUTE53_CHECKERS / min(intervals or [30])
    globals_ = template["Globals"]["Function"]["Environment"]["Variables"]
    if globals_.get("HEALTH_CHECK") != "true":
        problems.append("Globals: HEALTH_CHECK is not \"true\": the health routes would reach the door's checks (401/403)")
    for vendor in VENDORS:
        name = vendor.lower()
        path = body["paths"].get(f"/health/{name}")
        if not isinstance(path, dict) or set(path) != {"get"}:
            problems.append(f"WebhookApi: /health/{name} must exist with GET only (no condition: SAM's deployment "
                            f"would not follow it), got {path}")
        elif f"{vendor}Function.Arn" not in json.dumps(path["get"]):
            problems.append(f"WebhookApi: GET /health/{name} does not reach {vendor}Function")
        throttle = settings.get((f"/~1health~1{name}", "GET"), {})
        rate, burst = throttle.get("ThrottlingRateLimit"), throttle.get("ThrottlingBurstLimit")
        if not isinstance(rate, (int, float)) or not isinstance(burst, (int, float)):
            problems.append(f"WebhookApi: GET /health/{name} has no throttle of its own (MethodSettings)")
        elif not (checkers * 2 <= rate <= HEALTH_ROUTE_MAX_RATE and rate <= burst <= 2 * HEALTH_ROUTE_MAX_RATE):
            problems.append(f"WebhookApi: GET /health/{name} throttle {rate}/s (burst {burst}): not between twice Route "
                            f"53's checkers ({checkers * 2:.1f}/s) and {HEALTH_ROUTE_MAX_RATE}/s")
        permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                       and f"/${{StageName}}/GET/health/{name}" in str(r["Properties"].get("SourceArn"))]
        if len(permissions) != 1 or permissions[0].get("FunctionName") != {"Fn::GetAtt": [f"{vendor}Function", "Arn"]}:
            problems.append(f"{vendor}Function: no invoke permission for GET /health/{name} on the stage alone")
        reads = [(c, st) for c, st in role_statements(resources[f"{vendor}Role"])
                 if "sqs:GetQueueAttributes" in as_list(st.get("Action"))]
        if not reads or any(c is not None or st.get("Resource") != {"Fn::GetAtt": ["EventsQueue", "Arn"]} for c, st in reads):
            problems.append(f"{vendor}Role: sqs:GetQueueAttributes must be on its events queue alone, always (HEALTH_CHECK)")
    pattern = resources.get("GatewayThrottlesMetric", {}).get("Properties", {}).get("FilterPattern", "")
    if '$.resourcePath != "/health/*"' not in pattern:
        problems.append("GatewayThrottlesMetric: the health routes' own throttle counts as lost callbacks")
    return problems


def fallback_problems(template):
    """The second region's queues: the functions get their URLs and region
    (blank when off), each role may send to exactly those queues and use
    their keys only through SQS in their region; the other region's roles
    may send to this stack's events and quarantine queues, never its
    dead-letter queue."""
    problems = []
    resources = template["Resources"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for variable, condition, parameter in (
            ("FALLBACK_QUEUE_URL", "HasFallbackQueue", "FallbackQueueArn"),
            ("FALLBACK_QUARANTINE_QUEUE_URL", "HasFallbackQuarantine", "FallbackQuarantineQueueArn"),
            ("FALLBACK_REGION", "HasFallbackQueue", "FallbackQueueArn")):
        value = variables.get(variable, {}).get("Fn::If", [None, None, None])
        if value[0] != condition or value[2] != "" or parameter not in names(value[1]):
            problems.append(f"Globals: {variable} is not taken from {parameter} under {condition} (blank otherwise)")
    allowed_queues = {"EventsQueue", "QuarantineQueue", "FallbackQueueArn", "FallbackQuarantineQueueArn"}
    for vendor in VENDORS:
        statements = role_statements(resources[f"{vendor}Role"])
        for condition, st in statements:
            actions = as_list(st.get("Action"))
            if any(str(a).startswith("sqs:") for a in actions):
                wild = [r for r in strings(st.get("Resource")) if "*" in r]
                if wild:
                    problems.append(f"{vendor}Role: SQS rights on {wild}")
            if "sqs:SendMessage" in actions:
                named = names(st.get("Resource"))
                if named - allowed_queues - {"AWS::NoValue", "HasFallbackQuarantine"}:
                    problems.append(f"{vendor}Role: may send to {sorted(named - allowed_queues)}")
                if named & {"FallbackQueueArn", "FallbackQuarantineQueueArn"} and condition != "HasFallbackQueue":
                    problems.append(f"{vendor}Role: the fallback queues are not only under HasFallbackQueue")
        sends = [st for c, st in statements if c == "HasFallbackQueue" and "sqs:SendMessage" in as_list(st.get("Action"))]
        if not sends or not {"FallbackQueueArn", "FallbackQuarantineQueueArn"} <= names(sends[0].get("Resource")):
            problems.append(f"{vendor}Role: may not send to the fallback queues (FallbackQueueArn, FallbackQuarantineQueueArn)")
        keys = [(c, st) for c, st in statements if "FallbackKmsKeyArns" in names(st.get("Resource"))]
        for condition, st in keys:
            via = st.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            if condition != "FallbackKms" or st.get("Resource") != {"Ref": "FallbackKmsKeyArns"} \
                    or "FallbackQueueArn" not in names(via) or not any(t.startswith("sqs.") for t in strings(via)):
                problems.append(f"{vendor}Role: the fallback keys are not used only through SQS in the fallback region")
        if not keys:
            problems.append(f"{vendor}Role: the fallback queues' keys (FallbackKmsKeyArns) are never named")
    policy = resources["QueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for st in policy:
        st = st["Fn::If"][1] if "Fn::If" in st else st
        senders = "FallbackSenderRoleArns" in names(st)
        if senders and (st.get("Effect") != "Deny" or st.get("Sid") != "OnlyTheFunctionsSend"
                        or {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]} in as_list(st.get("Resource"))):
            problems.append(f"QueuesPolicy: FallbackSenderRoleArns may only be exempt from OnlyTheFunctionsSend "
                            f"(events and quarantine queues), found in {st.get('Sid')}")
    if not any("FallbackSenderRoleArns" in names(st) for st in policy):
        problems.append("QueuesPolicy: the other region's functions (FallbackSenderRoleArns) can never send here")
    return problems


def domain_problems(template):
    """One host name, two regions: every part exists only with DomainName; a
    regional TLS 1.2 custom domain; one HTTPS health check per vendor on this
    region's execute-api host and health route, combined by a CALCULATED
    check that needs all of them; a failover alias record on it. Returns the
    problems and the health checks' timing, for the summary."""
    problems = []
    resources = template["Resources"]
    for name, resource in sorted(resources.items()):
        if resource["Type"] in DOMAIN_RESOURCE_TYPES and resource.get("Condition") != "HasDomain":
            problems.append(f"{name}: a {resource['Type']} without DomainName (Condition HasDomain)")
    domain = resources.get("CustomDomain", {}).get("Properties", {})
    if domain.get("EndpointConfiguration", {}).get("Types") != ["REGIONAL"] or domain.get("SecurityPolicy") != "TLS_1_2" \
            or domain.get("RegionalCertificateArn") != {"Ref": "CertificateArn"}:
        problems.append(f"CustomDomain: not a REGIONAL TLS_1_2 domain with CertificateArn: {domain}")
    timing = set()
    checks = []
    for vendor in VENDORS:
        config = resources.get(f"{vendor}HealthCheck", {}).get("Properties", {}).get("HealthCheckConfig", {})
        host = config.get("FullyQualifiedDomainName", {}).get("Fn::Sub", "")
        if config.get("Type") != "HTTPS" or not host.startswith("${WebhookApi}.execute-api.${AWS::Region}.") \
                or config.get("ResourcePath") != {"Fn::Sub": f"/${{StageName}}/health/{vendor.lower()}"} \
                or config.get("EnableSNI") is not True:
            problems.append(f"{vendor}HealthCheck: not HTTPS (SNI) on this region's execute-api host and /health/{vendor.lower()}")
        timing.add((config.get("RequestInterval"), config.get("FailureThreshold")))
        checks.append({"Ref": f"{vendor}HealthCheck"})
    calculated = resources.get("RegionHealthCheck", {}).get("Properties", {}).get("HealthCheckConfig", {})
    if calculated.get("Type") != "CALCULATED" or calculated.get("ChildHealthChecks") != checks \
            or calculated.get("HealthThreshold") != len(checks):
        problems.append("RegionHealthCheck: not a CALCULATED check that needs every vendor's health check")
    records = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Route53::RecordSet"]
    for record in records:
        alias = record.get("AliasTarget", {})
        if record.get("Failover") != {"Ref": "FailoverRole"} or not record.get("SetIdentifier") \
                or record.get("HealthCheckId") != {"Ref": "RegionHealthCheck"} \
                or alias.get("DNSName") != {"Fn::GetAtt": ["CustomDomain", "RegionalDomainName"]}:
            problems.append(f"a Route 53 record that is not a failover alias to CustomDomain on RegionHealthCheck: {record}")
    if not records:
        problems.append("no Route 53 record for DomainName")
    if len(timing) != 1 or None in next(iter(timing)):
        problems.append(f"the vendors' health checks differ or leave their timing to defaults: {timing}")
        return problems, ""
    interval, threshold = next(iter(timing))
    return problems, (f"health checks every {interval} s, {threshold} failures in a row: a checker sees a dead "
                      f"region after about {interval * threshold} s, before the CALCULATED check and the DNS TTL")


def early_alarm_problems(resources):
    """Alarms before refusal: each function's concurrency against its
    reservation, the archive stream against its Direct PUT quota, and events
    spilled to the second region."""
    problems = []

    def stats(props):
        return {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"] for m in props.get("Metrics", []) if "MetricStat" in m}

    for vendor in VENDORS:
        alarm = resources.get(f"{vendor}ConcurrencyAlarm", {})
        props = alarm.get("Properties", {})
        used = stats(props).get("ConcurrentExecutions", {})
        expression = json.dumps([m.get("Expression") for m in props.get("Metrics", [])])
        if alarm.get("Condition") != f"Reserve{vendor}" or used.get("Period", 61) > 60 \
                or used.get("Metric", {}).get("Dimensions") != [{"Name": "FunctionName", "Value": {"Ref": f"{vendor}Function"}}] \
                or f"${{{vendor}ReservedConcurrency}}" not in expression or not 50 <= props.get("Threshold", 0) < 100:
            problems.append(f"{vendor}ConcurrencyAlarm: not an alarm within a minute on {vendor}Function's "
                            f"ConcurrentExecutions against {vendor}ReservedConcurrency (below 100%)")
    quota = resources.get("ArchiveNearQuotaAlarm", {})
    used = stats(quota.get("Properties", {}))
    wanted = {"IncomingRecords", "RecordsPerSecondLimit", "IncomingBytes", "BytesPerSecondLimit",
              "IncomingPutRequests", "PutRequestsPerSecondLimit"}
    if quota.get("Condition") != "ArchiveOn" or set(used) != wanted or any(st["Period"] > 60 for st in used.values()):
        problems.append(f"ArchiveNearQuotaAlarm: not an alarm within a minute on the stream's {sorted(wanted)}")
    spilled = resources.get("SpilledToFallbackAlarm", {})
    used = stats(spilled.get("Properties", {}))
    if spilled.get("Condition") != "HasFallbackQueue" or set(used) != {"SpilledToFallback"} \
            or spilled["Properties"].get("Threshold") != 0:
        problems.append("SpilledToFallbackAlarm: not an alarm on any SpilledToFallback, with the fallback queue")
    return problems


def main():
    with open(sys.argv[1]) as f:
        template = yaml.safe_load(f)
    parameters = template["Parameters"]
    resources = template["Resources"]
    problems = []

    missing = [f"{vendor}SourceCidrs" for vendor in VENDORS if f"{vendor}SourceCidrs" not in parameters]
    if missing:
        print(f"template: no {' or '.join(missing)}: each vendor needs its own source ranges")
        sys.exit(1)
    for vendor in VENDORS:
        if "Default" in parameters[f"{vendor}SourceCidrs"]:
            problems.append(f"{vendor}SourceCidrs has a default: the stack must be closed until the ranges are given")
    if parameters["RequireWebhookToken"].get("Default") != "true":
        problems.append("the webhook token must be required by default")
    defaults = {name: p.get("Default") for name, p in parameters.items()}
    ranges = {"ArtemisSourceCidrs": ["203.0.113.0/24"], "AmlyzeSourceCidrs": ["198.51.100.0/24", "2001:db8::/48"],
              "AlarmEmail": "oncall@example.com"}
    world = ["0.0.0.0/0", "::/0"]
    no_token = dict(RequireWebhookToken="false")
    cases = [
        # (what, parameters, deployable?)
        ("the vendors' ranges with the token (the defaults otherwise)", {}, True),
        ("the vendors' ranges without the token", no_token, True),
        ("single addresses without the token", dict(no_token, AmlyzeSourceCidrs=["198.51.100.7", "2001:db8::1"]), True),
        # Alarms that reach nobody are refused unless switched off on purpose.
        ("alarms with neither an email nor a topic", dict(AlarmEmail=""), False),
        ("alarms to an existing topic", dict(AlarmEmail="", AlarmTopicArn="arn:aws:sns:us-east-1:123456789012:oncall"), True),
        ("alarms off on purpose", dict(AlarmEmail="", Alarms="off"), True),
        ("an email that is not one", dict(AlarmEmail="oncall"), False),
    ]
    # A second region: the fallback queues (by ARN), their keys, the other
    # region's roles; one host name with its certificate, zone and role.
    fallback = dict(FallbackQueueArn="arn:aws:sqs:us-west-2:123456789012:webhook-events",
                    FallbackQuarantineQueueArn="arn:aws:sqs:us-west-2:123456789012:webhook-QuarantineQueue-ABC",
                    FallbackKmsKeyArns=["arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-000000000000"],
                    FallbackSenderRoleArns=["arn:aws:iam::123456789012:role/webhook-west-ArtemisRole-A",
                                            "arn:aws:iam::123456789012:role/webhook-west-AmlyzeRole-B"])
    domain = dict(DomainName="hooks.example.com", HostedZoneId="Z0123456789ABCDEFGHIJ", FailoverRole="PRIMARY",
                  CertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000")
    cases += [
        ("a fallback region (queues, keys, its roles)", fallback, True),
        ("a FIFO fallback events queue", dict(FifoQueue="true", FallbackQueueArn="arn:aws:sqs:us-west-2:123456789012:w-events.fifo"), True),
        ("the fallback events queue alone", dict(FallbackQueueArn=fallback["FallbackQueueArn"]), True),
        ("a generated fallback queue name of 80 characters",
         dict(FallbackQueueArn="arn:aws:sqs:us-west-2:123456789012:" + "w" * 59 + "-EventsQueue-AbCdEf12"), True),
        ("a fallback quarantine without the fallback events queue",
         dict(FallbackQuarantineQueueArn=fallback["FallbackQuarantineQueueArn"]), False),
        ("a fallback queue given as a URL", dict(FallbackQueueArn="https://sqs.us-west-2.amazonaws.com/123456789012/q"), False),
        ("a fallback key that is no KMS key", dict(fallback, FallbackKmsKeyArns=["alias/aws/sqs"]), False),
        ("a fallback sender that is no role", dict(fallback, FallbackSenderRoleArns=["arn:aws:iam::123456789012:user/x"]), False),
        ("one host name, primary", domain, True),
        ("one host name, secondary, with the fallback", dict(domain, FailoverRole="SECONDARY", **fallback), True),
        ("a host name without a certificate", dict(domain, CertificateArn=""), False),
        ("a host name without a hosted zone", dict(domain, HostedZoneId=""), False),
        ("a host name without a failover role", dict(domain, FailoverRole=""), False),
        ("a failover role that is neither", dict(domain, FailoverRole="BOTH"), False),
        ("a host name in capitals", dict(domain, DomainName="Hooks.Example.com"), False),
    ]
    for vendor in VENDORS:
        key = f"{vendor}SourceCidrs"
        cases += [
            (f"{vendor} open to the world without the token", dict(no_token, **{key: world}), False),
            (f"{vendor} open to IPv4 without the token", dict(no_token, **{key: ["0.0.0.0/0"]}), False),
            (f"{vendor} open to IPv6 without the token", dict(no_token, **{key: ["::/0"]}), False),
            (f"{vendor} open to IPv4 in two halves without the token", dict(no_token, **{key: ["0.0.0.0/1", "128.0.0.0/1"]}), False),
            (f"{vendor} open through a /0 at another address", dict(no_token, **{key: ["1.0.0.0/0"]}), False),
            (f"{vendor} open to IPv6 in halves", dict(no_token, **{key: ["::/1", "8000::/1"]}), False),
            (f"{vendor}: a /16 (2^16 addresses each, 256 of them add up)", dict(no_token, **{key: ["10.0.0.0/16"]}), False),
            (f"{vendor}: a blank range", {key: [""]}, False),
            # All of IPv4, written as IPv6 (IPv4-mapped, or a range that holds them).
            (f"{vendor}: all of IPv4, mapped (::ffff:0.0.0.0/96)", dict(no_token, **{key: ["::ffff:0.0.0.0/96"]}), False),
            (f"{vendor}: all of IPv4, mapped in hex", dict(no_token, **{key: ["::ffff:0:0/96"]}), False),
            (f"{vendor}: all of IPv4, mapped in full", dict(no_token, **{key: ["0:0:0:0:0:ffff:0:0/96"]}), False),
            (f"{vendor}: a zero range that holds the mapped ones", dict(no_token, **{key: ["::/64"]}), False),
            (f"{vendor}: one mapped address", dict(no_token, **{key: ["::ffff:198.51.100.7"]}), False),
            (f"{vendor}: an ordinary IPv6 range", dict(no_token, **{key: ["2001:db8:1::/48"]}), True),
            (f"{vendor} open to the world with the token", {key: world}, True),
        ]
    for what, change, expected in cases:
        params = dict(defaults, **ranges)
        params.update(change)
        failed = refused(parameters, params) + deployable(template, params)
        if (not failed) != expected:
            problems.append(f"{what}: expected {'deployable' if expected else 'refused'}, got {failed or 'deployable'}")
    problems.extend(widest_boundary_problems(parameters))

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
            if not re.search(r"/\$\{StageName\}/(\*/hooks/|GET/health/)[a-z]+$", text):
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
    problems.extend(vendor_boundary_problems(template))
    problems.extend(redrive_allow_problems(resources))
    problems.extend(runbook_problems(resources, sys.argv[1]))
    problems.extend(evidence_problems(resources))
    problems.extend(transitions_problems(template))
    measured = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "docs", "bench", "capacity.json")
    capacity, arithmetic, warnings = capacity_problems(template, measured)
    problems.extend(capacity)
    problems.extend(health_route_problems(template))
    problems.extend(fallback_problems(template))
    domain_found, health_timing = domain_problems(template)
    problems.extend(domain_found)
    problems.extend(early_alarm_problems(resources))
    silent = [name for name, r in sorted(resources.items()) if r["Type"] == "AWS::CloudWatch::Alarm"
              and (r["Properties"].get("AlarmActions") or {}).get("Fn::If", [None])[0] != "Notify"]
    problems.extend(f"{name}: its AlarmActions are not the alarm topic (Notify)" for name in silent)

    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            transformed = json.load(f)["Resources"]
        problems.extend(f"transformed: {p}" for p in evidence_problems(transformed))
        for name, resource in sorted(transformed.items()):
            if resource["Type"] == "AWS::Lambda::Function":
                role = resource["Properties"].get("Role", {}).get("Fn::GetAtt", [""])[0]
                managed = transformed.get(role, {}).get("Properties", {}).get("ManagedPolicyArns")
                if managed:
                    problems.append(f"transformed: {name} runs on {role}, with managed policies {managed}")

    for warning in warnings:
        print(f"template: WARNING: {warning}")
    for problem in problems:
        print(f"template: {problem}")
    if problems:
        sys.exit(1)
    print(f"template: closed until configured ({len(cases)} parameter cases), data retained, limits set, archive locked, "
          f"transitions topics closed, health routes the only open door, fallback sends to its queues alone, the host "
          f"name's parts only with DomainName, alarms before refusal")
    print(f"template: {arithmetic}")
    print(f"template: {health_timing}")


if __name__ == "__main__":
    main()
