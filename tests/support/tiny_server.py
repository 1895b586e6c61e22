"""A minimal backend server for ``cloudgd.servers`` tests: answers every GET with 200.

Same command line as the real backends (``--host --port --ready-file``); it serves
127.0.0.1 only and exits by itself after ``--lifetime`` seconds, so a test that
fails before stopping it leaves nothing behind for long.
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudgd.servers import serve_ready


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Ok)
    threading.Timer(args.lifetime, server.shutdown).start()
    serve_ready(args.ready_file, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
