"""Cold start, latency and memory of keyturn's Lambda bootstraps and of their
Python + boto3 twins (bench/python/), measured side by side in one run; the
scanner's read cost for growing inventories. Part of `make bench`
(bench/run.sh); never part of `make test`.

Each function runs as Lambda runs a custom runtime: a process whose
AWS_LAMBDA_RUNTIME_API points at a Runtime API, here a minimal one served by
this script. Init time is process spawn -> first `GET .../invocation/next`;
invocation latency is event handed out -> response posted; peak RSS is the
process's VmHWM. AWS calls go to a private moto server (its own port), so the
figures do not depend on whatever else the dev stack holds.

Every function is the one bootstrap (keyturn-lambda) with KEYTURN_FUNCTION
naming it, as deployed; so the size column repeats one binary's size (the
arm64 one is recorded by bench/report.py once its build is done).

--hold PGID: a build running alongside (bench/run.sh's arm64 bootstrap) is
stopped (SIGSTOP to its process group) while anything is measured and let go
on (SIGCONT) while the inventory is being filled, which measures nothing.

Usage (bench/run.sh passes these): python bench/lambda.py --moto-port 4766
  --x86 target/lambda/x86_64/keyturn-lambda/bootstrap --keyturn target/release/keyturn
Writes its measurements into bench/results.json (merging) and prints a table.
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import queue
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

FUNCTIONS = ["scanner", "request-approval", "approval-callback", "notify", "rotate", "verify", "finalize",
             "rollback", "request-key"]
TWINS = {"scanner": "scanner", "approval-callback": "approval_callback"}
# The functions scan at the real clock, so the inventory is made relative to it.
NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
SPAWNS = 5   # cold starts per function (the median is reported)
WARM = 20    # warm invocations after the first


class RuntimeApi:
    """The three Runtime API calls a function makes, on 127.0.0.1:<free port>."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.first_next = threading.Event()
        self.first_next_at = None
        self.init_error = None
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                if api.first_next_at is None:
                    api.first_next_at = time.perf_counter()
                    api.first_next.set()
                request_id, body = api.events.get()
                if request_id is None:  # shutting down; the process may be gone already
                    try:
                        self.send_error(503)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                api.handed_out_at = time.perf_counter()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.path.endswith("/init/error"):
                    api.init_error = body.decode(errors="replace")
                    api.first_next.set()
                else:
                    api.responses.put((time.perf_counter(), self.path.rsplit("/", 1)[-1], body))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict, timeout: float = 120):
        """Hands out one event; returns (latency ms, 'response'|'error', parsed body)."""
        self.events.put((str(uuid.uuid4()), json.dumps(event).encode()))
        done_at, kind, body = self.responses.get(timeout=timeout)
        return (done_at - self.handed_out_at) * 1000, kind, json.loads(body or b"null")

    def close(self):
        self.events.put((None, b""))
        self.server.shutdown()
        self.server.server_close()


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(name: str, argv: list, env: dict, events: list, check, log) -> dict:
    """Cold starts (SPAWNS), and on the first spawn: first + WARM invocations and peak RSS."""
    inits, first, warm, rss = [], None, [], None
    for spawn in range(SPAWNS):
        api = RuntimeApi()
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env={**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}"},
                                stdout=log, stderr=log)
        try:
            if not api.first_next.wait(120) or api.init_error:
                raise SystemExit(f"{name}: init failed: {api.init_error or 'no GET /next within 120 s'} (see {log.name})")
            inits.append((api.first_next_at - t0) * 1000)
            if spawn == 0 and events:
                for i, event in enumerate([events[0]] + [events[-1]] * WARM):
                    ms, kind, body = api.invoke(event)
                    problem = check(kind, body)
                    if problem:
                        raise SystemExit(f"{name}: invocation {i + 1} answered wrongly: {problem}\n{json.dumps(body)[:600]}")
                    if i == 0:
                        first = ms
                    else:
                        warm.append(ms)
            if spawn == 0:
                rss = peak_rss_mb(proc.pid)
        finally:
            proc.kill()
            proc.wait()
            api.close()
    return {
        "init_ms": round(statistics.median(inits), 2),
        "init_ms_all": [round(x, 2) for x in inits],
        "first_ms": None if first is None else round(first, 2),
        "warm_ms": None if not warm else round(statistics.median(warm), 2),
        "peak_rss_mb": round(rss, 1),
    }


def sign_link(secret_hex: str, kid: str, change_id: str) -> str:
    """A link token exactly as core/domain/src/approval/links.rs signs one."""
    claims = "\n".join([change_id, "ana@bench.example", "approve", str(int(time.time()) + 3600),
                        secrets.token_hex(16), ""])
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    body = b64(claims.encode())
    tag = hmac.new(bytes.fromhex(secret_hex), b"keyturn-link-v1\n" + kid.encode() + b"\n" + body.encode(),
                   hashlib.sha256).digest()
    return f"v1.{kid}.{body}.{b64(tag)}"


def url_event(token: str) -> dict:
    """A Function URL (API Gateway v2 payload) GET of a link."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": f"t={token}",
        "queryStringParameters": {"t": token}, "cookies": [],
        "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "user-agent": "bench"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.lambda-url.us-east-1.on.aws",
            "domainPrefix": "bench", "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "26/Nov/2026:09:00:00 +0000", "timeEpoch": 1795683600000,
            "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "bench"},
        },
        "isBase64Encoded": False,
    }


def raw_query_seconds(env: dict, now: str) -> float:
    """The baseline for the scan's wall time: the same expiry-index query,
    bare, with boto3 (moto answers a Query by walking the whole table, so both
    grow with the table here; on DynamoDB neither does)."""
    import datetime as dt
    import boto3
    from boto3.dynamodb.conditions import Key
    table = boto3.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing").Table("keyturn-connectors")
    cutoff = (dt.datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kwargs = {"IndexName": "expiry-index",
              "KeyConditionExpression": Key("expiry_scope").eq("tracked") & Key("expires_at").lte(cutoff)}
    t = time.perf_counter()
    while True:
        page = table.query(**kwargs)
        if "LastEvaluatedKey" not in page:
            return time.perf_counter() - t
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class Alongside:
    """The process group of a build running alongside: `measuring()` stops it
    for the length of a measurement; otherwise it runs. Gone (its build
    finished) is fine."""

    def __init__(self, pgid):
        self.pgid = pgid

    def _signal(self, sig):
        if self.pgid:
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                self.pgid = None

    @contextlib.contextmanager
    def measuring(self):
        self._signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._signal(signal.SIGCONT)


def run(cmd: list, env: dict) -> str:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moto-port", type=int, required=True)
    ap.add_argument("--x86", required=True, help="the x86_64 bootstrap cargo lambda built (run here)")
    ap.add_argument("--hold", type=int, metavar="PGID",
                    help="process group of a build to stop while measuring (see the module docs)")
    ap.add_argument("--keyturn", required=True, help="the release CLI")
    ap.add_argument("--out", default="bench/results.json")
    ap.add_argument("--sizes", default="1000,10000,100000", help="inventory sizes for the scan-cost table")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if k.startswith("KEYTURN_") or k in ("PATH", "HOME", "LANG")}
    env.update({
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{args.moto_port}", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "RUST_LOG": "warn", "KEYTURN_CRASH_DIR": "",
        # What a deployment sets (functions that need them refuse to start without).
        "KEYTURN_APPROVAL_URL": "https://approve.bench.example/", "KEYTURN_EMAIL_FROM": "keyturn@keyturn.example",  # dev setup verifies it
    })
    k = args.keyturn
    work = tempfile.mkdtemp(prefix="keyturn-bench-")
    log = open(os.path.join(work, "functions.log"), "w")

    print("==> bench: tables, state machine and a 1,000-connector inventory (50 due) on the bench moto; the"
          " functions are measured on it, then it grows to 10,000 and 100,000", flush=True)
    run([k, "dev", "setup"], env)
    # The scan's daily digest (and any reminder) needs the approver routing.
    routing = os.path.join(work, "approvers.yaml")
    with open(routing, "w") as f:
        f.write("groups:\n  it-change:\n    approvers: [ana@bench.example]\n"
                "    escalation:\n      email: [oncall@bench.example]\n")
    run([k, "approvers", "set", routing], env)
    scale = []
    sizes = [int(s) for s in args.sizes.split(",")]
    alongside = Alongside(args.hold)

    def grow(i: int):
        """Brings the table to sizes[i] connectors (the first 50 of them due) and times a dry-run scan."""
        total, before = sizes[i], (sizes[i - 1] if i else 0)
        inv = os.path.join(work, f"inv-{total}.csv")
        run([k, "dev", "sample-inventory", "--total", str(total - before), "--due", "50" if i == 0 else "0",
             "--prefix", f"bench{i}", "--now", NOW, "--out", inv], env)
        t = time.perf_counter()
        run([k, "inventory", "import", inv], env)
        import_s = time.perf_counter() - t
        with alongside.measuring():
            t = time.perf_counter()
            report = json.loads(run([k, "scan", "--dry-run", "--now", NOW, "--format", "json"], env))
            scan_s = time.perf_counter() - t
            base_s = raw_query_seconds(env, NOW)
        scale.append({"connectors": total, "due": report["due"] + report["skipped"], "items_read": report["items_read"],
                      "pages": report["pages"], "scan_seconds": round(scan_s, 3),
                      "raw_query_seconds": round(base_s, 3), "import_seconds": round(import_s, 1)})
        print(f"    {total:>7,} connectors: {scale[-1]['due']} due, {report['items_read']} items read, "
              f"dry-run scan {scan_s:.2f} s, the bare index query {base_s:.2f} s (import {import_s:.0f} s, not measured:"
              f" {'a build alongside' if alongside.pgid else 'alone'})", flush=True)

    grow(0)

    # Start the 50 changes: every function scan measured below is the steady
    # daily case (the due keys held by running changes).
    run([k, "scan", "--now", NOW], env)

    # The link-signing key, as approval-callback creates it on first use.
    import boto3
    sm = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    secret_id = env.get("KEYTURN_SIGNING_KEY_SECRET", "keyturn/link-signing-key")
    try:
        sm.create_secret(Name=secret_id, SecretString=secrets.token_hex(32))
    except sm.exceptions.ResourceExistsException:
        pass
    current = sm.get_secret_value(SecretId=secret_id)
    token = sign_link(current["SecretString"], current["VersionId"], "chg-20261126-00000000000000aa")

    events = {
        "scanner": [{"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}],
        "approval-callback": [url_event(token)],
    }

    def check_scan(kind, body):
        if kind != "response":
            return f"error {body}"
        if body.get("busy"):
            return "the scan lock was held"
        if (body.get("due"), body.get("skipped"), body.get("items_read")) != (0, 50, 50):
            return f"expected 50 due keys read, all held; got {body.get('items_read')} read, due={body.get('due')} skipped={body.get('skipped')}"

    def check_link(kind, body):
        if kind != "response" or body.get("statusCode") != 404:
            return f"expected the 'unknown change' page (404), got {kind} {body.get('statusCode') if isinstance(body, dict) else body}"

    checks = {"scanner": check_scan, "approval-callback": check_link}
    rows = {}
    with alongside.measuring():
        for f in FUNCTIONS:
            print(f"==> bench: {f}", flush=True)
            r = measure(f, [args.x86], {**env, "KEYTURN_FUNCTION": f}, events.get(f, []),
                        checks.get(f, lambda *_: None), log)
            r["size_x86_64_mb"] = round(os.path.getsize(args.x86) / 2**20, 2)
            rows[f] = r
            if f in TWINS:
                print(f"==> bench: {f} (Python twin)", flush=True)
                py = [sys.executable, "bench/python/runtime.py", TWINS[f]]
                rows[f + " (python)"] = measure(f + " (python)", py, env, events[f], checks[f], log)

    print("==> bench: scan cost as the inventory grows (the same 50 due)", flush=True)
    for i in range(1, len(sizes)):
        grow(i)
    print_and_save(rows, scale, args.out)


def print_and_save(rows: dict, scale: list, out: str):
    fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
    print(f"\n{'function':28} {'x86_64 MB':>9} {'init ms':>8} {'1st ms':>8} {'warm ms':>8} {'RSS MB':>7}")
    for name, r in rows.items():
        print(f"{name:28} {fmt(r.get('size_x86_64_mb'), 2):>9} "
              f"{fmt(r['init_ms']):>8} {fmt(r['first_ms']):>8} {fmt(r['warm_ms']):>8} {fmt(r['peak_rss_mb']):>7}")
    ratios = {}
    for f in TWINS:
        rust, py = rows[f], rows[f + " (python)"]
        ratios[f] = {key: round(py[key] / rust[key], 1) for key in ("init_ms", "first_ms", "warm_ms", "peak_rss_mb")
                     if py.get(key) and rust.get(key)}
        print(f"{'Python / Rust, ' + f:28} " + "  ".join(f"{key.split('_')[0]} {v}x" for key, v in ratios[f].items()))
    print(f"\n{'connectors':>10} {'due':>5} {'items read':>10} {'pages':>6} {'dry-run scan s':>15} {'bare query s':>13} {'ratio':>6}")
    for s in scale:
        ratio = s["scan_seconds"] / max(s["raw_query_seconds"], 1e-6)
        print(f"{s['connectors']:>10,} {s['due']:>5} {s['items_read']:>10} {s['pages']:>6} {s['scan_seconds']:>15} "
              f"{s['raw_query_seconds']:>13} {ratio:>6.2f}")

    rust = {n: r for n, r in rows.items() if "(python)" not in n}
    worst = lambda key: max(r[key] for r in rust.values() if r.get(key) is not None)
    targets = [
        {"name": "init time, slowest function", "target": 30, "measured": worst("init_ms"), "unit": "ms", "cmp": "<="},
        *[{"name": f"init time, Python twin / Rust ({f})", "target": 10, "measured": ratios[f].get("init_ms"),
           "unit": "x", "cmp": ">="} for f in TWINS],
        {"name": "bootstrap size (x86_64)", "target": 8, "measured": worst("size_x86_64_mb"), "unit": "MB", "cmp": "<="},
        {"name": "peak RSS, largest function", "target": 32, "measured": worst("peak_rss_mb"), "unit": "MB", "cmp": "<="},
        {"name": f"scanner items read, {scale[-1]['connectors']:,} vs {scale[0]['connectors']:,} connectors",
         "target": 1.0, "measured": round(scale[-1]["items_read"] / max(scale[0]["items_read"], 1), 2), "unit": "x", "cmp": "<="},
    ]
    doc = json.load(open(out)) if os.path.exists(out) else {}
    # Every target of this script's kinds is replaced, also under a name it no
    # longer uses: no figure of an earlier layout can linger in the table.
    mine = ("init time", "bootstrap size", "peak RSS", "scanner items read")
    doc["targets"] = [t for t in doc.get("targets", []) if not t["name"].startswith(mine)] + targets
    m = doc.setdefault("measurements", {})
    m["functions"], m["python_over_rust"], m["scanner_scale"] = rows, ratios, scale
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
