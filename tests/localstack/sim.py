"""The email keyturn sent, as moto captured it, over HTTP on 127.0.0.1.

moto keeps SES messages in memory inside its own process, so this small
server runs in the launcher's process next to it:

  GET /_sim/ses      every sent message, in order: id, region, source,
                     destinations, subject, body (SESv2 keeps the HTML part)
  GET /_sim/map-runs every Distributed Map run, live: its items, how many
                     history events its child executions wrote in all, their
                     failure events, the task-token waits they submitted and,
                     for small runs, their whole history (moto keeps child
                     events out of the parent history, as AWS does, and
                     offers no API to read them)
  GET /_sim/health   200

The vendor, identity-provider, Slack and Jira simulators are in Rust:
tests/simulators (`keyturn-sim`, port 4568).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(ses_messages, map_runs):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: tests read the captures instead
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/_sim/ses":
                return self.reply(200, ses_messages())
            if path == "/_sim/map-runs":
                return self.reply(200, map_runs())
            if path == "/_sim/health":
                return self.reply(200, {"ok": True})
            return self.reply(404, {"error": f"nothing at {path}"})

        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def start(host, port, ses_messages, map_runs):
    server = ThreadingHTTPServer((host, port), make_handler(ses_messages, map_runs))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="ses-capture", daemon=True).start()
    return server
