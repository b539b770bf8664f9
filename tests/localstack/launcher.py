"""keyturn's local AWS stack: moto in server mode, configured for keyturn.

Started in the background by `make up`, stopped by `make down`. Runs moto
in-process (rather than `moto_server`) because some settings keyturn needs
exist only as in-process configuration:

- stepfunctions.execute_state_machine: moto's Step Functions engine really
  executes the ASL definition (there is no environment variable for it);
- lambda.use_docker = False: no Docker on developer machines or CI.

MOTO_PORT must equal the server's port: moto's Step Functions engine calls
Lambda through boto3 at http://localhost:$MOTO_PORT.

Lambda: with use_docker off, moto's LambdaSimpleBackend answers every Invoke
itself (the function need not even exist in moto). Its `invoke` is replaced
here by an HTTP forward to the real Rust binaries under `cargo lambda watch`
(127.0.0.1:9000). cargo lambda watch reports a handler error as HTTP 500 with
{"errorType", "errorMessage"} and no X-Amz-Function-Error header (real Lambda:
200 + header); both become `x-amz-function-error: Unhandled`, so the engine
takes the error name from errorType and ASL Retry/Catch on keyturn's error
names work as on AWS.

sim.py serves the captured email on --sim-port; vendor, Slack and Jira
simulators are the Rust keyturn-sim (tests/simulators).
"""

import argparse
import json
import os
import signal
import threading


def wait_ready(host: str, port: int, seconds: float, path: str) -> bool:
    """True once anything answers HTTP on host:port (any status counts)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.2)
    return False


def lambda_name(function_name: str) -> str:
    """NAME, NAME:QUALIFIER or arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] -> NAME."""
    if function_name.startswith("arn:"):
        return function_name.split(":")[6]
    return function_name.split(":")[0]


def forward_lambda(endpoint: str):
    """An `invoke` for LambdaSimpleBackend that runs the real function."""
    import json
    import urllib.error
    import urllib.request

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        name = lambda_name(function_name)
        url = f"{endpoint}/2015-03-31/functions/{name}/invocations"
        data = body if isinstance(body, bytes) else (body or "{}").encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        try:
            # Generous: cargo lambda watch compiles a function on its first invoke.
            with urllib.request.urlopen(request, timeout=300) as resp:
                payload = resp.read()
                if resp.headers.get("X-Amz-Function-Error"):
                    response_headers["x-amz-function-error"] = "Unhandled"
                return payload
        except urllib.error.HTTPError as e:
            payload = e.read()
            response_headers["x-amz-function-error"] = "Unhandled"
            return payload
        except OSError as e:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({
                "errorType": "Lambda.ServiceException",
                "errorMessage": f"cannot reach {name} at {endpoint} ({e}); is `cargo lambda watch` running? (make up starts it)",
            }).encode()

    return invoke


def sent_emails():
    """moto's captured SES messages (SESv2 stores the HTML body when there is one)."""
    from moto.ses.models import ses_backends

    out = []
    for account, regions in ses_backends.items():
        for region, backend in regions.items():
            for m in backend.sent_messages:
                out.append({
                    "id": m.id,
                    "region": region,
                    "source": getattr(m, "source", None),
                    "destinations": getattr(m, "destinations", None),
                    "subject": getattr(m, "subject", None),
                    "body": getattr(m, "body", None) or getattr(m, "raw_data", None),
                })
    return out


MAP_RUNS = {}


def watch_map_runs():
    """Keeps, per Distributed Map run, the event manager its child executions
    write to (moto keeps child events out of the parent history, as AWS does,
    and no API reads them), so the tests can see them while and after the
    run. Test instrumentation only: behaviour is unchanged."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )

    original = DistributedIterationComponent._map_run

    def _map_run(self, env, eval_input):
        items = env.stack[-1] if env.stack and isinstance(env.stack[-1], list) else []
        MAP_RUNS[eval_input.map_run_record.map_run_arn] = {"items": len(items), "events": env.event_manager}
        return original(self, env, eval_input)

    DistributedIterationComponent._map_run = _map_run


def quick_key_queries():
    """moto answers a Query on a table's own key by sorting every item of the
    table (Table.all_items), so each audit append (a Query for its chain's
    head) cost time in proportion to the whole audit table: quadratic over a
    test run, minutes for the 2,000-connector change. Such a Query needs only
    the items under its hash key; this hands moto exactly those, in the same
    order, for that one call (per thread). Answers are unchanged; queries on
    an index take moto's own path."""
    import threading

    from moto.dynamodb.models.table import Table

    local = threading.local()
    all_items, query = Table.all_items, Table.query

    def only_the_partition(self):
        subset = getattr(local, "subset", None)
        if subset is not None and subset[0] is self:
            return subset[1]
        return all_items(self)

    def keyed_query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        partition = self.items[hash_key] if hash_key in self.items else {}
        local.subset = (self, sorted(partition.values(), key=lambda i: (i.hash_key, i.range_key)))
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            local.subset = None

    Table.all_items = only_the_partition
    Table.query = keyed_query


def atomic_items():
    """DynamoDB applies each UpdateItem atomically; moto applies it to an item
    that other request threads may be copying at that moment ("dictionary
    changed size during iteration": an HTML 500 page, and a lost outcome, in
    the 2,000-connector test), and Secrets Manager's store has the same race.
    Requests to those two services take one lock here. They never call out to
    other services, so the lock cannot wait on a Lambda; moto is bound by one
    core anyway."""
    import threading

    from moto.dynamodb.responses import DynamoHandler
    from moto.secretsmanager.responses import SecretsManagerResponse

    lock = threading.RLock()
    for cls in (DynamoHandler, SecretsManagerResponse):
        def call_action(self, _original=cls.call_action):
            with lock:
                return _original(self)

        cls.call_action = call_action


def waits_never_end_early():
    """A Wait state with a timestamp never ends before that timestamp on AWS.
    moto waits `int(seconds)` from now, truncated, so it ends up to a second
    early: a rotation held for its change window started at 21:59:59.3 for a
    window opening at 22:00:00. Rounding up keeps the local stack honest."""
    import datetime
    import math

    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

    def wait_seconds(self, env):
        self.string.eval(env=env)
        raw = env.stack.pop()
        stamp = self._from_timestamp_string(timestamp=raw)
        if stamp is None:
            raise FailureEventException(self._create_failure_event(env, raw))
        return math.ceil((stamp - datetime.datetime.now()).total_seconds())

    Timestamp._get_wait_seconds = wait_seconds


def map_runs():
    """Every map run: items, child events in all, the children's failure
    events, the waits on task tokens submitted, and (for small runs) the
    whole child history as text, for the canary greps."""
    out = {}
    for arn, run in list(MAP_RUNS.items()):
        events = run["events"].get_event_history()
        failures, waiting = [], 0
        for e in events:
            kind = e.get("type", "")
            details = next((v for k, v in e.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            if kind.endswith(("Failed", "TimedOut")):
                failures.append({"type": kind, "error": details.get("error"), "cause": details.get("cause")})
            if kind == "TaskSubmitted" and details.get("resource") == "invoke.waitForTaskToken":
                waiting += 1
        out[arn] = {
            "items": run["items"],
            "child_events": len(events),
            "child_failures": failures,
            "child_waits_submitted": waiting,
            "child_history": json.dumps(events, default=str) if len(events) <= 2000 else None,
        }
    return out


def parsed_paths_kept():
    """moto's Step Functions engine parses every JSONPath of every state
    anew, and jsonpath_ng builds its ply lexer and parser for each parse:
    about 6% of moto's time in the 2,000-connector change went to re-parsing
    the same few dozen paths. A parsed path is never changed by `find`, so
    each is parsed once."""
    import functools

    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)


def backends_found_once():
    """moto's dispatcher finds the backend of every request under one lock,
    and on the way lists moto's package directory (a directory read and two
    hundred `isdir` calls): every request to moto queued on that lock, a
    third of the request threads' samples in the 2,000-connector change. A
    host always maps to the same backend, so each is looked up once."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    find, found = DomainDispatcherApplication.get_backend_for_host, {}

    def backend_for_host(self, host):
        if host not in found:
            found[host] = find(self, host)
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = backend_for_host


def one_lambda_client():
    """moto's Step Functions engine builds a new boto3 client for every Lambda
    task (a tenth of moto's time in the 2,000-connector change: botocore
    copies its event hooks and loads the service model each time). Clients
    are thread-safe once built, so each (region, service) gets one."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    build, lock, clients = lambda_eval_utils.boto_client_for, threading.Lock(), {}

    def client_for(region, service, state_credentials=None):
        key = (region, service)
        with lock:
            if key not in clients:
                clients[key] = build(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    lambda_eval_utils.boto_client_for = client_for


class Server:
    """moto's WSGI app behind waitress instead of werkzeug's development
    server. Werkzeug closes every connection and starts a thread for every
    request; with moto bound by one core (one GIL), accepting, thread start
    and teardown took about 45% of moto's time in the 2,000-connector change.
    waitress keeps connections alive (the SDK clients of the functions and of
    moto's own Step Functions engine reuse them) and serves from a fixed pool
    of threads. The pool is large because a thread waits as long as the
    Lambda Invoke it serves, and the function being invoked needs threads of
    its own to call DynamoDB meanwhile."""

    THREADS = 128

    def __init__(self, host: str, port: int):
        import waitress
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = DomainDispatcherApplication(create_backend_app)
        self._server = waitress.create_server(
            app, host=host, port=port, threads=self.THREADS, connection_limit=1000,
            channel_timeout=600, clear_untrusted_proxy_headers=False, ident="moto",
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--sim-port", type=int, default=4567)
    parser.add_argument("--lambda-endpoint", default="http://127.0.0.1:9000",
                        help="where `cargo lambda watch` serves the function binaries")
    parser.add_argument("--path", default="/moto-api/data.json", help="with --wait-ready: the path to poll")
    parser.add_argument("--wait-ready", type=float, metavar="SECONDS",
                        help="do not start anything: wait until the stack answers, exit 1 if it does not in time")
    args = parser.parse_args()
    if args.wait_ready is not None:
        raise SystemExit(0 if wait_ready(args.host, args.port, args.wait_ready, args.path) else 1)

    os.environ["MOTO_PORT"] = str(args.port)
    # moto's Wait state compares a UTC `...Z` timestamp with the naive local
    # clock: off by the machine's UTC offset unless the process runs in UTC.
    os.environ["TZ"] = "UTC"
    import time
    time.tzset()

    # Imported after MOTO_PORT is set: moto reads it at import time.
    from moto.core.config import default_user_config
    from moto.awslambda_simple.models import LambdaSimpleBackend

    import sim

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False
    LambdaSimpleBackend.invoke = forward_lambda(args.lambda_endpoint.rstrip("/"))
    watch_map_runs()
    quick_key_queries()
    atomic_items()
    waits_never_end_early()
    parsed_paths_kept()
    one_lambda_client()
    backends_found_once()

    server = Server(args.host, args.port)
    server.start()
    sim.start(args.host, args.sim_port, sent_emails, map_runs)
    print(f"keyturn local stack: moto on http://{args.host}:{args.port}, simulators on "
          f"http://{args.host}:{args.sim_port}, Lambda -> {args.lambda_endpoint}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
