"""Simulators and capture for what keyturn talks to besides AWS, on 127.0.0.1.

One small HTTP server (stdlib only), started by launcher.py next to moto:

  POST /slack/<anything>                      Slack incoming webhook: stored, answers `200 ok`
  POST /jira/rest/api/2/issue                 Jira: create issue (needs any Authorization) -> KT-<n>
  POST /jira/rest/api/2/issue/<key>/comment   Jira: add comment
  GET  /_sim/slack | /_sim/jira | /_sim/ses   what was captured (SES = moto's sent messages)
  POST /_sim/faults {"path_prefix": "/slack", "status": 500, "times": 2, "delay_ms": 0}
                                              the next N matching requests fail (or are slow)
  POST /_sim/reset                            forget everything
  GET  /_sim/health

A vendor is a handler class in ROUTES: (method, regex) -> function(sim, match, body) -> (status, obj).
Issue #4 adds the Atlassian, Entra ID and Okta simulators the same way.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sim:
    """All captured state, behind one lock."""

    def __init__(self, ses_messages):
        self.lock = threading.Lock()
        self.ses_messages = ses_messages
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.slack = []
            self.jira = {}
            self.faults = []

    def take_fault(self, path):
        with self.lock:
            for f in self.faults:
                if path.startswith(f["path_prefix"]) and f["times"] > 0:
                    f["times"] -= 1
                    return dict(f)
        return None


def slack_post(sim, m, body, headers):
    with sim.lock:
        sim.slack.append({"path": m.group(0), "body": json.loads(body or b"null")})
    return 200, "ok"


def jira_auth_ok(headers):
    auth = headers.get("Authorization", "")
    return auth.startswith("Basic ") or auth.startswith("Bearer ")


def jira_create(sim, m, body, headers):
    if not jira_auth_ok(headers):
        return 401, {"errorMessages": ["authentication required"]}
    fields = json.loads(body)["fields"]
    with sim.lock:
        key = f"KT-{len(sim.jira) + 1}"
        sim.jira[key] = {"key": key, "fields": fields, "comments": []}
    return 201, {"id": str(len(sim.jira)), "key": key, "self": f"/jira/rest/api/2/issue/{key}"}


def jira_comment(sim, m, body, headers):
    if not jira_auth_ok(headers):
        return 401, {"errorMessages": ["authentication required"]}
    with sim.lock:
        issue = sim.jira.get(m.group(1))
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        issue["comments"].append(json.loads(body)["body"])
    return 201, {"id": str(len(issue["comments"]))}


def captured(name):
    def handler(sim, m, body, headers):
        with sim.lock:
            if name == "slack":
                return 200, list(sim.slack)
            if name == "jira":
                return 200, list(sim.jira.values())
        return 200, sim.ses_messages()
    return handler


def set_fault(sim, m, body, headers):
    f = json.loads(body)
    f.setdefault("times", 1)
    f.setdefault("status", 500)
    f.setdefault("delay_ms", 0)
    with sim.lock:
        sim.faults.append(f)
    return 200, f


def reset(sim, m, body, headers):
    sim.reset()
    return 200, {}


ROUTES = [
    ("POST", r"/slack/.+", slack_post),
    ("POST", r"/jira/rest/api/2/issue", jira_create),
    ("POST", r"/jira/rest/api/2/issue/([A-Z]+-\d+)/comment", jira_comment),
    ("GET", r"/_sim/(slack)", captured("slack")),
    ("GET", r"/_sim/(jira)", captured("jira")),
    ("GET", r"/_sim/(ses)", captured("ses")),
    ("POST", r"/_sim/faults", set_fault),
    ("POST", r"/_sim/reset", reset),
    ("GET", r"/_sim/health", lambda sim, m, b, h: (200, {"ok": True})),
]


def make_handler(sim):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: tests read the captures instead
            pass

        def handle_any(self, method):
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not path.startswith("/_sim/"):
                fault = sim.take_fault(path)
                if fault:
                    time.sleep(fault["delay_ms"] / 1000)
                    if fault["status"] != 200:
                        return self.reply(fault["status"], {"error": "injected fault"})
            for m_, pattern, fn in ROUTES:
                m = re.fullmatch(pattern, path)
                if m_ == method and m:
                    try:
                        status, obj = fn(sim, m, body, self.headers)
                    except (ValueError, KeyError, TypeError) as e:
                        status, obj = 400, {"error": f"bad request: {e}"}
                    return self.reply(status, obj)
            return self.reply(404, {"error": f"no simulator for {method} {path}"})

        def reply(self, status, obj):
            data = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(obj, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

    return Handler


def start(host, port, ses_messages):
    sim = Sim(ses_messages)
    server = ThreadingHTTPServer((host, port), make_handler(sim))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sim", daemon=True).start()
    return server
