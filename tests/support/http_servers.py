"""A token endpoint that holds requests: for workers killed, and answers that come too late."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from bench.token_server import InBackground


class HoldingTokenEndpoint(InBackground, ThreadingHTTPServer):
    """Holds the first `hold` requests without answering until the client goes away; passes
    later ones through to `upstream` (a real token endpoint), if there is one."""

    daemon_threads = True

    def __init__(
        self,
        upstream: str = "",
        hold: int = 1_000_000,
        before_answer: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.hold = hold
        self.before_answer = before_answer  # runs once upstream has answered
        self.in_flight = threading.Event()
        self.requests = 0


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
        if self.server.before_answer is not None:
            self.server.before_answer()
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: Any) -> None:
        pass


class MisbehavingTokenEndpoint(InBackground, socketserver.ThreadingTCPServer):
    """A raw socket server that answers a token request badly, the ways networks and
    misconfigured endpoints do:

    - "stall": sends the status line and headers, then nothing;
    - "truncate": announces 1000 bytes of body, sends 20 and closes the connection;
    - "trickle": sends the headers, then one byte of body every 50 ms, for ever;
    - "garbage": 200, application/json, and bytes that are not JSON;
    - "html": 200 with a sign-in page (a proxy or an SSO portal in the way);
    - "huge": 200, application/json, 10 MB of it;
    - "redirect": 307 to another path here, which would repeat the POST and its secret.

    `paths` records the path of every request it received.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _MisbehavingHandler)
        self.mode = mode
        self.connections = 0
        self.paths: list[str] = []


HUGE = 10 * 1024 * 1024
WHOLE_ANSWERS = {
    "garbage": (b"200 OK", b"application/json", bytes(range(256)) * 4),
    "html": (
        b"200 OK",
        b"text/html",
        b"<!doctype html><title>Sign in</title><form method=post><input name=password></form>",
    ),
    "redirect": (b"307 Temporary Redirect\r\nLocation: /stolen", b"text/plain", b""),
}


class _MisbehavingHandler(socketserver.StreamRequestHandler):
    server: MisbehavingTokenEndpoint

    def handle(self) -> None:
        self.server.connections += 1
        request_line = self.rfile.readline().split()
        self.server.paths.append(request_line[1].decode() if len(request_line) > 1 else "")
        length = 0
        while line := self.rfile.readline():
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            if line in (b"\r\n", b"\n"):
                break
        self.rfile.read(length)
        try:
            if self.server.mode in WHOLE_ANSWERS:
                status, content_type, body = WHOLE_ANSWERS[self.server.mode]
                self.wfile.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\nContent-Type: "
                    + content_type
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                return
            size = HUGE if self.server.mode == "huge" else 1000
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(size).encode() + b"\r\n\r\n"
            )
            if self.server.mode == "stall":
                self.rfile.read(1)  # until the client gives up
            elif self.server.mode == "truncate":
                self.wfile.write(b'{"access_token": "AT')
            elif self.server.mode == "trickle":
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)  # the server's pace, not a test waiting
            elif self.server.mode == "huge":
                self.wfile.write(b'{"access_token": "' + b"x" * (HUGE - 20) + b'"}')
        except OSError:
            pass  # the client went away
