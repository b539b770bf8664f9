"""The Lambda Runtime API loop, as the AWS Python runtime runs it: import the
handler module (its clients are created at import, like the Rust mains build
their state before `run`), then GET next / handle / POST response forever.

Usage: python runtime.py MODULE   (MODULE.handler(event, context))
Needs AWS_LAMBDA_RUNTIME_API, like any custom runtime.
"""

import importlib
import json
import os
import sys
import urllib.request

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
handler = importlib.import_module(sys.argv[1]).handler
base = f"http://{api}/2018-06-01/runtime/invocation"

while True:
    with urllib.request.urlopen(f"{base}/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read() or b"{}")
    try:
        body, path = json.dumps(handler(event, None)).encode(), "response"
    except Exception as e:  # the runtime reports every handler error
        body, path = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}).encode(), "error"
    urllib.request.urlopen(urllib.request.Request(f"{base}/{request_id}/{path}", data=body, method="POST")).read()
