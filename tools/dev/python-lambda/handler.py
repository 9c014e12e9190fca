"""The Artemis webhook written as a typical Python Lambda (boto3), for the
comparison row in BENCHMARKS.md only: it is not deployed and not the product.

It does the same round trip as the Rust function for a valid Artemis
callback (parse the API Gateway event, check method and JSON body, check the
required fields, build the CloudEvent with its SHA-256 dedupe key, one
SendMessage with attributes, answer 202) but far less validation (no
duplicate keys, no enum or timestamp checks, no quarantine), so the
comparison flatters Python.
"""
import base64
import datetime
import hashlib
import json
import os

import boto3

QUEUE_URL = os.environ["QUEUE_URL"]
SQS = boto3.client("sqs")  # built once, at init, as the Rust functions do
REQUIRED = ("customerId", "customerReferenceId", "status", "action")


def respond(status, document, content_type="application/json"):
    return {"statusCode": status, "headers": {"content-type": content_type}, "body": json.dumps(document)}


def handler(event, _context):
    method = event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod")
    if method not in ("POST", "PUT", "PATCH"):
        return respond(405, {"title": "Method Not Allowed"})
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except ValueError as err:
        return respond(400, {"title": "Bad Request", "errors": [str(err)]}, "application/problem+json")
    missing = [f for f in REQUIRED if not isinstance(data, dict) or f not in data]
    if missing:
        return respond(400, {"title": "Bad Request", "errors": missing}, "application/problem+json")
    canonical = json.dumps(["artemis", data], separators=(",", ":"), sort_keys=True)
    key = hashlib.sha256(canonical.encode()).hexdigest()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    cloud_event = {
        "specversion": "1.0",
        "id": f"artemis:{key}",
        "source": "artemis",
        "type": f"com.cynopsis.artemis.customer.{str(data['action']).lower()}",
        "subject": str(data["customerId"]),
        "time": now,
        "datacontenttype": "application/json",
        "data": data,
        "provider": "artemis",
        "dedupekey": key,
        "receivedtime": now,
    }
    sent = SQS.send_message(
        QueueUrl=QUEUE_URL,
        MessageBody=json.dumps(cloud_event),
        MessageAttributes={
            "provider": {"DataType": "String", "StringValue": "artemis"},
            "type": {"DataType": "String", "StringValue": cloud_event["type"]},
            "subject": {"DataType": "String", "StringValue": cloud_event["subject"]},
        },
    )
    return respond(202, {"accepted": [cloud_event["id"]], "messageIds": [sent["MessageId"]]})
