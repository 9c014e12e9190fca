"""A minimal Lambda runtime loop for handler.py, on the standard library: the
Runtime API calls a managed Python runtime makes (awslambdaric's native client
crashed under this machine's emulator, so the comparison uses this loop, which
costs Python less, not more)."""
import http.client
import json
import os
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"


def error_document(err):
    return json.dumps({"errorMessage": str(err), "errorType": type(err).__name__,
                       "stackTrace": traceback.format_exc().splitlines()}).encode()


def main():
    connection = http.client.HTTPConnection(API)
    try:
        import handler  # init: imports boto3 and builds the client
    except Exception as err:  # noqa: BLE001 - reported to the Runtime API
        connection.request("POST", f"{BASE}/init/error", body=error_document(err))
        connection.getresponse().read()
        raise
    while True:
        connection.request("GET", f"{BASE}/invocation/next")
        response = connection.getresponse()
        event = response.read()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        os.environ["_X_AMZN_TRACE_ID"] = response.getheader("Lambda-Runtime-Trace-Id") or ""
        try:
            body = json.dumps(handler.handler(json.loads(event), None)).encode()
            path = f"{BASE}/invocation/{request_id}/response"
        except Exception as err:  # noqa: BLE001 - reported to the Runtime API
            body = error_document(err)
            path = f"{BASE}/invocation/{request_id}/error"
        connection.request("POST", path, body=body)
        connection.getresponse().read()


if __name__ == "__main__":
    main()
