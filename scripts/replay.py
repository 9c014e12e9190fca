#!/usr/bin/env python3
"""Posts the raw HTTP request of every fixture in events/ to a base URL.

    python3 scripts/replay.py http://127.0.0.1:9000
    python3 scripts/replay.py https://abc123.execute-api.eu-west-1.amazonaws.com/prod

Each fixture is an API Gateway / function URL / ALB event; this rebuilds the
request it stands for (method, path, query, headers, body) and sends it to
URL + path. Prints the status next to the one recorded in events/manifest.json.
Set <VENDOR>_TOKEN for each vendor (ARTEMIS_TOKEN, AMLYZE_TOKEN: a deployed
stack's ArtemisSecret and AmlyzeSecret; the vendor is the path's last
segment), or TOKEN for all (the local stack), to send an X-Webhook-Token
header. Standard library only.
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

EVENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")
SKIP = {"host", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"}


def request_of(event):
    method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
    path = event.get("rawPath") or event.get("path") or "/"
    query = event.get("queryStringParameters") or {}
    body = event.get("body")
    data = None
    if body is not None:
        data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() not in SKIP}
    return method, path, query, headers, data


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base = sys.argv[1].rstrip("/")
    with open(os.path.join(EVENTS, "manifest.json")) as f:
        manifest = json.load(f)
    mismatched = 0
    for fixture in manifest:
        with open(os.path.join(EVENTS, fixture["file"])) as f:
            method, path, query, headers, data = request_of(json.load(f))
        vendor = path.rstrip("/").rsplit("/", 1)[-1]
        token = os.environ.get(f"{vendor.upper()}_TOKEN") or os.environ.get("TOKEN")
        if token:
            headers["x-webhook-token"] = token
        url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        except OSError as err:
            status, body = 0, str(err).encode()
        ok = status == fixture["status"]
        mismatched += not ok
        print(f"{status:>3} (expected {fixture['status']}) {'ok ' if ok else 'DIFF'} {fixture['file']}: {body[:120].decode('utf-8', 'replace')}")
    print(f"{len(manifest)} requests, {mismatched} with another status than the manifest's")
    sys.exit(1 if mismatched else 0)


if __name__ == "__main__":
    main()
