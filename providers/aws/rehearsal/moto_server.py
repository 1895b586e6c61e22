"""A detached moto server for ``--backend moto`` rehearsals.

Run as ``python -m providers.aws.rehearsal.moto_server``. It follows the contract of
:mod:`cloudgd.servers`: ``--host``, ``--port`` (0 = any free port) and
``--ready-file``, which receives the bound port once the server accepts
connections. It serves S3, SageMaker and CloudWatch Logs from memory until
SIGTERM; the rehearsal bucket is created by ``submit``, not here.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from cloudgd.servers import serve_ready


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", default=None)
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serve_ready(args.ready_file, port)
    print(f"moto server on http://{args.host}:{port}", flush=True)
    stop.wait()
    # Everything moto holds is in memory: exit at once rather than wait (seconds)
    # for werkzeug's serve loop and its request threads to wind down.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
