"""Token requests reuse a connection to the same host (oauthflows.transport): and the
deadline still watches a kept connection, an idle one is not reused, the address policy is
applied to every new connection, no cookie goes from one request to the next, and one
watchdog thread serves every deadline."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from typing import Any
from unittest import mock

import pytest

from bench.token_server import InBackground
from oauthflows import client, transport
from oauthproviders import Generic

CREDENTIALS = client.ClientAuth("client-1", "s3cret", "body")
ANSWER = json.dumps({"access_token": "AT", "token_type": "Bearer", "expires_in": 3600}).encode()


class KeepAliveEndpoint(InBackground, socketserver.ThreadingTCPServer):
    """Answers each request on a connection in turn; the n-th request (over all
    connections) as `behaviour(n)` says: "ok", "ok+cookie" or "trickle"."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Any = lambda n: "ok") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.connections = 0
        self.requests: list[bytes] = []  # their headers
        self.lock = threading.Lock()


class _Handler(socketserver.StreamRequestHandler):
    server: KeepAliveEndpoint

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        while self.rfile.readline():  # a request line: this connection carries another
            headers, length = b"", 0
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                headers += line
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            with self.server.lock:
                self.server.requests.append(headers)
                behaviour = self.server.behaviour(len(self.server.requests))
            if behaviour == "trickle":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                try:
                    while True:
                        self.wfile.write(b" ")
                        time.sleep(0.05)
                except OSError:
                    return
            cookie = (
                b"Set-Cookie: session=from-the-last-answer\r\n" if "cookie" in behaviour else b""
            )
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + cookie
                + b"Content-Length: "
                + str(len(ANSWER)).encode()
                + b"\r\n\r\n"
                + ANSWER
            )


@pytest.fixture(autouse=True)
def _fresh_session(settings: Any) -> Any:
    settings.TOKEN_REQUEST_TIMEOUT = 1
    transport._local.__dict__.pop("session", None)
    yield
    transport._local.__dict__.pop("session", None)


def refresh_at(url: str) -> client.TokenResult:
    return client.refresh(Generic, url, CREDENTIALS, refresh_token="RT-1", scope="")


def test_requests_to_one_host_share_a_connection() -> None:
    with KeepAliveEndpoint() as server:
        for _ in range(5):
            assert refresh_at(server.url).access_token == "AT"
    assert (server.connections, len(server.requests)) == (1, 5)


def test_the_deadline_watches_a_kept_connection() -> None:
    with KeepAliveEndpoint(lambda n: "trickle" if n == 2 else "ok") as server:
        refresh_at(server.url)
        started = time.monotonic()
        with pytest.raises(client.TransientTokenError, match="longer than the 1 s allowed"):
            refresh_at(server.url)
        assert time.monotonic() - started < 5
        assert server.connections == 1  # the second request went over the kept connection
        assert refresh_at(server.url).access_token == "AT"  # and a new one after it
    assert server.connections == 2


def test_a_connection_idle_longer_than_5_s_is_not_reused() -> None:
    assert transport.MAX_IDLE_SECONDS == 5
    with KeepAliveEndpoint() as server:
        refresh_at(server.url)
        with mock.patch.object(transport.time, "monotonic", lambda: time.time() + 10**6):
            refresh_at(server.url)
    assert server.connections == 2


def test_every_new_connection_is_checked_against_the_address_policy(settings: Any) -> None:
    with KeepAliveEndpoint() as server:
        refresh_at(server.url)
        settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
        refresh_at(server.url)  # a kept connection goes on to the address it checked
        transport._local.__dict__.pop("session")
        with pytest.raises(client.ConfigurationError):
            refresh_at(server.url)
    assert server.connections == 1


def test_no_cookie_goes_from_one_token_request_to_the_next() -> None:
    with KeepAliveEndpoint(lambda n: "ok+cookie") as server:
        refresh_at(server.url)
        refresh_at(server.url)
    assert all(b"cookie" not in headers.lower() for headers in server.requests)


def test_one_watchdog_thread_serves_every_deadline() -> None:
    with KeepAliveEndpoint() as server:
        refresh_at(server.url)
        before = threading.active_count()
        for _ in range(20):
            refresh_at(server.url)
        assert threading.active_count() == before
    assert [t.name for t in threading.enumerate()].count("token-deadlines") == 1
