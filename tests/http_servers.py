"""A token endpoint that holds requests: for workers killed, and answers that come too late."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class HoldingTokenEndpoint(ThreadingHTTPServer):
    """Holds the first `hold` requests without answering until the client goes away; passes
    later ones through to `upstream` (a real token endpoint), if there is one."""

    daemon_threads = True

    def __init__(self, upstream: str = "", hold: int = 1_000_000) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.hold = hold
        self.in_flight = threading.Event()
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"

    def __enter__(self) -> HoldingTokenEndpoint:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: HoldingTokenEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        if self.server.requests <= self.server.hold:
            self.server.in_flight.set()
            self.rfile.read(1)  # blocks until the client gives up or is killed
            return
        answer = requests.post(
            self.server.upstream,
            data=body,
            headers={"Content-Type": self.headers["Content-Type"]},
            timeout=20,
        )
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: Any) -> None:
        pass
