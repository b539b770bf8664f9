"""keyturn's local AWS stack: moto in server mode, configured for keyturn.

Started in the background by `make up`, stopped by `make down`. Runs moto
in-process (rather than `moto_server`) because some settings keyturn needs
exist only as in-process configuration:

- stepfunctions.execute_state_machine: moto's Step Functions engine really
  executes the ASL definition (there is no environment variable for it);
- lambda.use_docker = False: no Docker on developer machines or CI.

MOTO_PORT must equal the server's port: moto's Step Functions engine calls
Lambda through boto3 at http://localhost:$MOTO_PORT.
"""

import argparse
import os
import signal
import threading


def wait_ready(host: str, port: int, seconds: float) -> bool:
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/moto-api/data.json", timeout=2):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--wait-ready", type=float, metavar="SECONDS",
                        help="do not start anything: wait until the stack answers, exit 1 if it does not in time")
    args = parser.parse_args()
    if args.wait_ready is not None:
        raise SystemExit(0 if wait_ready(args.host, args.port, args.wait_ready) else 1)

    os.environ["MOTO_PORT"] = str(args.port)

    # Imported after MOTO_PORT is set: moto reads it at import time.
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    print(f"keyturn local stack: moto on http://{args.host}:{args.port}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
