"""A token endpoint for the refresh benchmark: answers a refresh in well under a
millisecond with a new access and refresh token, and counts what it was sent (so the
benchmark can check that every artifact was refreshed exactly once)."""

from __future__ import annotations

import itertools
import json
import socketserver
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs


class InBackground(socketserver.BaseServer):
    """A token endpoint on 127.0.0.1 that serves from a thread while in its `with` block
    (this one, and the misbehaving ones of the tests)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"  # type: ignore[index]

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class TokenServer(InBackground, ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay  # seconds before each answer: a slower provider
        self.spent: Counter[str] = Counter()  # refreshes per client (one client per artifact)
        self.lock = threading.Lock()
        self.serial = itertools.count()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait out a delayed ACK (40 ms)
    server: TokenServer

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        if self.server.delay:
            time.sleep(self.server.delay)
        with self.server.lock:
            self.server.spent[form.get("client_id", [""])[0]] += 1
            serial = next(self.server.serial)
        body = json.dumps(
            {
                "access_token": f"AT-{serial}",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": f"RT-{serial}",
                "scope": "read",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
