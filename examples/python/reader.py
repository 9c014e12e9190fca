#!/usr/bin/env python3
"""A consumer of the intake's events queue in Python: every body is checked
against the committed JSON Schema, then applied to an in-memory state per
customer and vendor the way the reference consumer does it (dedupe and order).

    python3 examples/python/reader.py QUEUE_URL [schemas/event.schema.json]

Needs boto3 and jsonschema. Reads until the queue is empty, deletes what it
applied, leaves a body that breaks the schema on the queue (the redrive
policy moves it to the dead-letter queue), and prints a JSON summary.
"""
import json
import re
import sys
from datetime import datetime

import boto3
import jsonschema

TIME = re.compile(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)


def instant(text):
    """An RFC 3339 timestamp as (seconds since 1970, nanoseconds): exact, any offset."""
    match = TIME.match(text)
    if not match:
        raise ValueError(f"not RFC 3339: {text!r}")
    whole, fraction, offset = match.groups()
    offset = "+00:00" if offset.upper() == "Z" else offset
    seconds = int(datetime.fromisoformat(whole + offset).timestamp())
    return seconds, int((fraction or "0")[:9].ljust(9, "0"))


def order_key(event):
    """Later events sort higher: time, then reception time, then id."""
    return instant(event["time"]), instant(event["receivedtime"]), event["id"]


def apply(state, event):
    """What the event does to the state: applied, duplicate, repeat or stale."""
    if event.get("subject") is None:
        return "ignored"
    key = (event["provider"], event["subject"])
    stored = state.get(key)
    if stored is not None:
        if stored["id"] == event["id"]:
            return "duplicate"  # SQS delivered it again
        if order_key(event) <= order_key(stored):
            return "stale"  # never overwrite newer state
        if stored["dedupekey"] == event["dedupekey"]:
            return "repeat"  # the vendor sent the same state again
    state[key] = event
    return "applied"


def main():
    queue_url = sys.argv[1]
    schema_path = sys.argv[2] if len(sys.argv) > 2 else "schemas/event.schema.json"
    with open(schema_path, encoding="utf-8") as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    sqs = boto3.client("sqs")
    state, outcomes, invalid = {}, {}, []
    while True:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=300)
        messages = received.get("Messages", [])
        if not messages:
            break
        for message in messages:
            event = json.loads(message["Body"])
            errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(event)]
            if errors:
                invalid.append({"messageId": message["MessageId"], "errors": errors})
                continue
            outcome = apply(state, event)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    customers = {f"{p}#{s}": {"id": e["id"], "type": e["type"], "time": e["time"], "data": e.get("data")}
                 for (p, s), e in sorted(state.items())}
    print(json.dumps({"outcomes": outcomes, "invalid": invalid, "customers": customers}, indent=2))
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
