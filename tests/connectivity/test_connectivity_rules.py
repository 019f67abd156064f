"""Connectivity Tests send a live access token to a mail server, so they keep its rules:
Operators test only allowed mail hosts, every test is audited, the connection goes to the
address that was checked, STARTTLS is never skipped, and the one redaction (before any cut,
runs of 16 characters) and a size cap apply to everything a server says. Scripted servers on
127.0.0.1; no OAuth server needed (the artifact holds a valid token)."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status

PAGE = "/monitor/integrations/connectivity-tests/"
USER = "mailer@contoso.com"
TOKEN = "AT-" + "Plain0Connectivity1Token2" * 40  # about 1 KB, as Microsoft's are


def xoauth2_b64() -> str:
    return base64.b64encode(f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()


@pytest.fixture
def mailer(make_artifact: Any) -> OAuth2AuthorizationCode:
    artifact: OAuth2AuthorizationCode = make_artifact(
        name="M365_Mailer",
        provider="microsoft365",
        tenant="contoso.onmicrosoft.com",
        status=Status.DEPLOYED,
        access_token=TOKEN,
        refresh_token="RT-1",
        user_name=USER,
        access_token_expires_at=timezone.now() + timedelta(hours=1),
        refresh_token_renewed_at=timezone.now(),
        refresh_token_expiry_days=90,
    )
    return artifact


@pytest.fixture
def operator(db: None) -> Client:
    user = User.objects.create_user("olga", "olga@example.com", "pw")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_artifact", "operate_artifact"])
    )
    client = Client()
    client.force_login(user)
    return client


Script = Callable[[socketserver.StreamRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Script], int]]:
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(script: Script) -> int:
        handler = type("Handler", (socketserver.StreamRequestHandler,), {"handle": script})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def smtp_quoting(*replies: Callable[[bytes], bytes], starttls: bool = False) -> Script:
    """An SMTP server that offers AUTH XOAUTH2 and answers the client's SASL response with
    each of `replies` in turn (a careless server quotes what it was sent)."""

    def handle(self: socketserver.StreamRequestHandler) -> None:
        self.server.received = []  # type: ignore[attr-defined]
        self.wfile.write(b"220 scripted ESMTP\r\n")
        while line := self.rfile.readline():
            self.server.received.append(line)  # type: ignore[attr-defined]
            verb = line.upper()[:4]
            if verb in (b"EHLO", b"HELO"):
                offer = b"250-STARTTLS\r\n" if starttls else b""
                self.wfile.write(b"250-scripted\r\n" + offer + b"250 AUTH XOAUTH2\r\n")
            elif verb == b"AUTH":
                self.wfile.write(b"334 \r\n")
                blob = self.rfile.readline().strip()
                for reply in replies:
                    self.wfile.write(reply(blob))
                return
            else:
                self.wfile.write(b"221 bye\r\n")
                return

    return handle


def send(client: Client, tab: str, **data: Any) -> Any:
    form = {
        "authentication": "oauth2-authorization-code",
        "credential_name": "M365_Mailer",
        "host": "127.0.0.1",
        "protection": "none",
        **data,
    }
    return client.post(f"{PAGE}?tab={tab}", form)


def assert_no_part_of_the_token(page: str) -> None:
    for secret in (TOKEN, xoauth2_b64()):
        runs = {secret[i : i + 16] for i in range(len(secret) - 15)}
        assert not [run for run in runs if run in page]


def test_an_operator_tests_only_the_providers_mail_hosts_and_those_listed(
    operator: Client,
    admin_client: Client,
    mailer: OAuth2AuthorizationCode,
    serve: Callable[[Script], int],
    settings: Any,
) -> None:
    settings.CONNECTIVITY_ALLOWED_HOSTS = []
    port = serve(smtp_quoting(lambda blob: b"535 no\r\n"))
    refused = send(operator, "smtp", port=port)
    assert refused.status_code == 400
    [error] = refused.context["form"].errors["host"]
    assert error.startswith("Operators may test only against the provider's mail hosts")
    assert "smtp.office365.com, outlook.office365.com" in error
    assert not AuditEntry.objects.filter(action__in=["token_issued", "connectivity_tested"])
    settings.CONNECTIVITY_ALLOWED_HOSTS = ["127.0.0.1"]
    assert send(operator, "smtp", port=port).status_code == 200
    settings.CONNECTIVITY_ALLOWED_HOSTS = []
    assert send(admin_client, "smtp", port=port).status_code == 200  # an Administrator


def test_every_test_is_audited_with_who_what_where_and_the_outcome(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    port = serve(smtp_quoting(lambda blob: b"535 5.7.8 no\r\n"))
    send(admin_client, "smtp", port=port)
    send(admin_client, "smtp", port=port)  # within the minute: audited again
    entries = AuditEntry.objects.filter(action="connectivity_tested").order_by("id")
    assert [(e.actor_name, e.artifact_name) for e in entries] == [("ada", "M365_Mailer")] * 2
    assert entries[0].detail.startswith(
        f"SMTP 127.0.0.1:{port} as {USER}: Failed: The server refused the access token."
    )


def test_starttls_that_the_server_does_not_offer_is_refused_before_any_token(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    handle = smtp_quoting(lambda blob: b"235 ok\r\n", starttls=False)
    port = serve(handle)
    response = send(admin_client, "smtp", port=port, protection="starttls")
    page = response.content.decode()
    assert "Failed: 127.0.0.1 does not offer that over this connection" in page
    assert "STARTTLS" in page and "C: AUTH" not in page
    assert_no_part_of_the_token(page)


def test_a_refusal_quoting_the_token_in_halves_or_cut_short_shows_no_part_of_it(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    def halves(blob: bytes) -> bytes:
        token = TOKEN.encode()
        return b"535-5.7.8 first " + token[:600] + b"\r\n535 5.7.8 then " + token[600:] + b"\r\n"

    def cut_short(blob: bytes) -> bytes:
        return b"535 5.7.8 rejected " + blob[: len(blob) // 2] + b"...\r\n"

    for reply in (halves, cut_short):
        port = serve(smtp_quoting(reply))
        page = send(admin_client, "smtp", port=port).content.decode()
        assert "Failed: The server refused the access token." in page
        assert "[redacted]" in page
        assert_no_part_of_the_token(page)


def test_an_imap_refusal_quoting_the_token_is_redacted(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    def handle(self: socketserver.StreamRequestHandler) -> None:
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] scripted\r\n")
        while line := self.rfile.readline():
            tag = line.split(b" ", 1)[0]
            if b"AUTHENTICATE" in line.upper():
                self.wfile.write(b"+ \r\n")
                blob = self.rfile.readline().strip()
                self.wfile.write(tag + b" NO [AUTHENTICATIONFAILED] bad " + blob + b"\r\n")
            elif b"CAPABILITY" in line.upper():
                self.wfile.write(b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n" + tag + b" OK done\r\n")
            else:
                self.wfile.write(tag + b" OK bye\r\n")
                return

    page = send(admin_client, "imap", port=serve(handle)).content.decode()
    assert "Failed: The server refused the access token." in page
    assert_no_part_of_the_token(page)


def test_a_server_that_talks_without_end_fills_no_page(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    def chatty(self: socketserver.StreamRequestHandler) -> None:
        self.wfile.write(b"220-banner line\r\n" * 20000 + b"220 ready\r\n")
        self.rfile.readline()
        self.wfile.write(b"221 bye\r\n")

    response = send(admin_client, "smtp", port=serve(chatty))
    page = response.content.decode()
    assert len(page) < 100_000
    assert "20001 more lines not shown: the transcript is cut at 200 lines" in page or (
        "more lines not shown: the transcript is cut at 200 lines" in page
    )


def test_the_test_connects_to_the_address_that_was_checked(
    admin_client: Client,
    mailer: OAuth2AuthorizationCode,
    serve: Callable[[Script], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 when checked and 127.0.0.2 (nobody there)
    afterwards; the test still reaches the server on the address it checked."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mail.rebind.test":
            host = next(answers, "127.0.0.2")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = serve(smtp_quoting(lambda blob: b"235 ok\r\n"))
    page = send(
        admin_client, "smtp", host="mail.rebind.test", port=port, protection="starttls"
    ).content.decode()
    assert "S: 220 scripted ESMTP" in page  # reached the checked address
    assert "does not offer that over this connection" in page


def test_a_host_that_does_not_resolve_is_refused_before_anything(
    admin_client: Client, mailer: OAuth2AuthorizationCode
) -> None:
    response = send(admin_client, "smtp", host="nowhere.invalid", port=587, protection="starttls")
    assert response.status_code == 400
    assert response.context["form"].errors["host"] == [
        "The host name nowhere.invalid could not be resolved."
    ]
    assert not AuditEntry.objects.filter(action__in=["token_issued", "connectivity_tested"])


def test_a_server_that_sends_bytes_slowly_is_cut_off_at_the_deadline(
    admin_client: Client,
    mailer: OAuth2AuthorizationCode,
    serve: Callable[[Script], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from connectivity import probes

    monkeypatch.setattr(probes, "DEADLINE", 2.0)

    def trickle(self: socketserver.StreamRequestHandler) -> None:
        for byte in b"220 slow banner that never ends":
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.5)

    started = time.monotonic()
    page = send(admin_client, "smtp", port=serve(trickle)).content.decode()
    assert time.monotonic() - started < 6
    assert "did not finish the test within 2 seconds" in page


def test_while_a_test_runs_another_is_refused_so_tests_cannot_take_every_worker(
    admin_client: Client, mailer: OAuth2AuthorizationCode, serve: Callable[[Script], int]
) -> None:
    from connectivity import probes

    port = serve(smtp_quoting(lambda blob: b"235 ok\r\n"))
    with probes.one_at_a_time() as mine:  # another worker's test, running
        assert mine
        busy = send(admin_client, "smtp", port=port)
    assert busy.status_code == 429
    assert "Another Connectivity Test is running" in busy.content.decode()
    assert not AuditEntry.objects.filter(action="connectivity_tested").exists()
    assert send(admin_client, "smtp", port=port).status_code == 200  # its turn now


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Unauthorized_One",
            "Unauthorized_One is not authorized yet: choose Authorize on it first.",
        ),
        ("Edge_One", "Edge_One is in Edge Integration Cell: choose that Runtime."),
        ("X" * 10_000, "Ensure this value has at most 150 characters"),
        ("Nope", "No OAuth2 Authorization Code artifact is named “Nope” in this Runtime."),
        ("bad\x00name", "Null characters are not allowed."),
    ],
)
def test_a_credential_name_that_cannot_be_used_says_why_without_echoing_it_all(
    admin_client: Client,
    mailer: OAuth2AuthorizationCode,
    make_artifact: Any,
    name: str,
    message: str,
) -> None:
    make_artifact(name="Unauthorized_One")
    make_artifact(name="Edge_One", runtime="edge", status=Status.DEPLOYED)
    response = send(admin_client, "smtp", port=25, credential_name=name)
    assert response.status_code == 400
    [error] = response.context["form"].errors["credential_name"]
    assert message in error
    assert len(response.content) < 60_000


def test_an_ipv6_host_without_brackets_is_told_to_use_them(
    admin_client: Client, mailer: OAuth2AuthorizationCode
) -> None:
    response = send(admin_client, "smtp", host="::1", port=25)
    [error] = response.context["form"].errors["host"]
    assert "write an IPv6 address in brackets, such as [::1]" in error
    assert send(admin_client, "smtp", host="[::1]", port=1).status_code == 200


def test_a_form_posted_as_json_is_told_how_to_post(
    admin_client: Client, mailer: OAuth2AuthorizationCode
) -> None:
    response = admin_client.post(f"{PAGE}?tab=smtp", {"host": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert "Send the form as application/x-www-form-urlencoded" in response.content.decode()


def imap_greeting(self: socketserver.StreamRequestHandler) -> None:
    self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n")
    while line := self.rfile.readline():
        self.wfile.write(line.split(b" ", 1)[0] + b" BAD [unknown] command\r\n")


def smtp_greeting(self: socketserver.StreamRequestHandler) -> None:
    self.wfile.write(b"220 mail.example.com ESMTP ready\r\n")
    while self.rfile.readline():
        self.wfile.write(b"500 5.5.1 unknown command.\r\n")


@pytest.mark.parametrize(
    ("tab", "script", "outcome"),
    [
        ("smtp", imap_greeting, "speaks IMAP, not SMTP. Check Port: SMTP is 587 with STARTTLS"),
        ("imap", smtp_greeting, "speaks SMTP, not IMAP. Check Port: IMAP is 993 with TLS."),
    ],
)
def test_the_other_protocol_on_the_port_is_named_in_plain_words(
    admin_client: Client,
    mailer: OAuth2AuthorizationCode,
    serve: Callable[[Script], int],
    tab: str,
    script: Script,
    outcome: str,
) -> None:
    page = send(admin_client, tab, port=serve(script)).content.decode()
    assert outcome in page
    for internal in ("b&#x27;", "(-1,", "=&gt;", ".."):
        assert internal not in page.split("Failed:", 1)[1].split("</p>", 1)[0]


def test_the_documented_bounds_of_a_test() -> None:
    """README and docs/security.md: 20 s in all, 200 lines of transcript, runs of 16."""
    from connectivity import probes
    from securitymaterial import redaction

    assert (probes.DEADLINE, probes.MAX_LINES, redaction.RUN) == (20.0, 200, 16)
