"""smclient fails closed: the API token never follows a redirect, an unknown protection or
plain text to a remote host is refused, a service URL in clear text is refused unless it is
local, and an answer without a token is an error. No Django: plain sockets on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from smclient import SecurityMaterial, SecurityMaterialError, _XOAuth2, xoauth2

API_TOKEN = "smt_client-rules-Plain-Token"


class Recorder(BaseHTTPRequestHandler):
    """Answers with the server's `answer`; remembers each request's Authorization header."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.headers.get("Authorization"))
        status, headers, body = server.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[Any, Any]]:
    started = []
    for _ in range(2):
        server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.seen, server.answer = [], (200, {}, b"{}")
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
    yield started[0], started[1]
    for server in started:
        server.shutdown()
        server.server_close()


def url(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_and_the_token_goes_nowhere_else(
    servers: tuple[Any, Any], status: int
) -> None:
    service, elsewhere = servers
    target = f"{url(elsewhere)}/api/v1/security-material/M/access-token"
    service.answer = (status, {"Location": target}, b"")
    with pytest.raises(SecurityMaterialError) as caught:
        SecurityMaterial(url(service), api_token=API_TOKEN).access_token("M")
    assert caught.value.status == status
    assert service.seen == [f"Bearer {API_TOKEN}"]
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    "body",
    [{}, {"access_token": None, "token_type": "Bearer", "sasl_xoauth2": "x"}, [], "token"],
)
def test_an_answer_without_an_access_token_is_an_error(servers: tuple[Any, Any], body: Any) -> None:
    service, _ = servers
    service.answer = (200, {"Content-Type": "application/json"}, json.dumps(body).encode())
    with pytest.raises(SecurityMaterialError, match="holds no access token"):
        SecurityMaterial(url(service), api_token=API_TOKEN).access_token("M")


@pytest.mark.parametrize(
    "base_url",
    ["http://security.example.com", "http://10.0.0.5:8000", "ftp://127.0.0.1", "security"],
)
def test_a_service_url_in_clear_text_to_another_host_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        SecurityMaterial(base_url, api_token=API_TOKEN)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://security.example.com",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_https_or_a_local_service_is_accepted(base_url: str) -> None:
    assert SecurityMaterial(base_url, api_token=API_TOKEN).base_url == base_url


@pytest.mark.parametrize("method", ["smtp", "imap"])
@pytest.mark.parametrize(
    ("host", "protection"),
    [
        ("smtp.example.com", "STARTTLS"),  # not one of the words: was plain text
        ("smtp.example.com", "ssl"),
        ("smtp.example.com", ""),
        ("smtp.example.com", "none"),  # plain text to a remote host
    ],
)
def test_an_unknown_protection_or_clear_text_to_a_remote_host_is_refused_before_anything(
    servers: tuple[Any, Any], method: str, host: str, protection: str
) -> None:
    service, _ = servers
    client = SecurityMaterial(url(service), api_token=API_TOKEN)
    with pytest.raises(ValueError, match="protection"):
        getattr(client, method)("M", host, 25, protection=protection)
    assert service.seen == []  # not even a token was fetched


def test_after_an_error_challenge_the_answer_is_empty_not_the_token_again() -> None:
    """RFC 7628 §3.2.3 and Google's XOAUTH2: the server sends its error as a challenge and
    the client answers with an empty response."""
    respond = _XOAuth2("mailer@example.com", "AT-Plain")
    assert respond(None) == xoauth2("mailer@example.com", "AT-Plain")
    error = b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
    assert respond(error) == ""
    assert respond(error) == ""
    assert "AT-Plain" not in repr(respond)
