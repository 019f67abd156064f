"""Connectivity Tests against real SMTP and IMAP servers that check every bearer token:
the outcome in plain words, a transcript without any token, bad input refused."""

from __future__ import annotations

import base64
import socketserver
import threading
from typing import Any

import pytest
from django.test import Client

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode
from tests.support.mailservers import MAILBOX, ImapServer, SubmissionServer, mailer, read_maildir
from tests.support.oauth_server import OAuthServer

PAGE = "/monitor/integrations/connectivity-tests/"


def send(client: Client, tab: str, **data: Any) -> Any:
    form = {
        "authentication": "oauth2-authorization-code",
        "credential_name": "M365_Mailer",
        "host": "127.0.0.1",
        "protection": "none",
        **data,
    }
    return client.post(f"{PAGE}?tab={tab}", form)


def secrets_of(name: str = "M365_Mailer") -> list[str]:
    artifact = OAuth2AuthorizationCode.objects.get(name=name)
    xoauth2 = f"user={artifact.user_name}\x01auth=Bearer {artifact.access_token}\x01\x01"
    return [artifact.access_token, base64.b64encode(xoauth2.encode()).decode()]


def test_smtp_signs_in_sends_a_test_message_and_shows_a_clean_transcript(
    admin_client: Client,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
    maildirs: Any,
) -> None:
    mailer(mail_oauth, make_artifact)
    response = send(admin_client, "smtp", port=smtp_server.port, send_to=MAILBOX)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Success: signed in as {MAILBOX} with OAuth2 (XOAUTH2)." in page
    assert "C: AUTH XOAUTH2" in page and "S: 235" in page
    assert "[XOAUTH2 response, redacted]" in page
    for secret in secrets_of():
        assert secret not in page
    assert [m["Subject"] for m in read_maildir(maildirs, MAILBOX)] == [
        "Security Material connectivity test"
    ]
    assert AuditEntry.objects.filter(
        action="token_issued", detail="Issued to Connectivity Test (SMTP) by ada"
    ).exists()


def test_imap_signs_in_and_counts_the_inbox(
    admin_client: Client, mail_oauth: OAuthServer, make_artifact: Any, imap_server: ImapServer
) -> None:
    mailer(mail_oauth, make_artifact)
    response = send(admin_client, "imap", port=imap_server.port)
    page = response.content.decode()
    assert f"Success: signed in as {MAILBOX} with OAuth2 (XOAUTH2); INBOX holds 0 messages." in page
    assert "AUTHENTICATE XOAUTH2" in page
    for secret in secrets_of():
        assert secret not in page


def test_a_revoked_token_fails_in_plain_words(
    admin_client: Client,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
    imap_server: ImapServer,
) -> None:
    mailer(mail_oauth, make_artifact)
    send(admin_client, "smtp", port=smtp_server.port)  # fetches a fresh token
    mail_oauth.revoke_access_token(OAuth2AuthorizationCode.objects.get().access_token)
    smtp = send(admin_client, "smtp", port=smtp_server.port).content.decode()
    assert "Failed: The server refused the access token." in smtp
    assert "535" in smtp
    imap = send(admin_client, "imap", port=imap_server.port).content.decode()
    assert "Failed: The server refused the access token." in imap
    for secret in secrets_of():
        assert secret not in smtp + imap


def test_a_closed_port_and_an_unauthorized_artifact_fail_clearly(
    admin_client: Client, mail_oauth: OAuthServer, make_artifact: Any
) -> None:
    mailer(mail_oauth, make_artifact)
    closed = send(admin_client, "smtp", port=1).content.decode()
    assert "Failed: 127.0.0.1:1 refused the connection. Check Host and Port." in closed
    OAuth2AuthorizationCode.objects.update(status="error", error_kind="reauthorize")
    broken = send(admin_client, "smtp", port=1).content.decode()
    assert "Failed: No valid access token: M365_Mailer needs an admin" in broken


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"host": "smtp.example.com", "port": "25"}, "protection", "None is only for a server"),
        ({"host": "bad host!", "port": "25"}, "host", "Enter a host name"),
        ({"port": "0"}, "port", "greater than or equal to 1"),
        ({"port": "²"}, "port", "Enter a port number"),
        ({"port": "25", "credential_name": "Nope"}, "credential_name", "is named “Nope”"),
        ({"port": "25", "send_to": "not-an-address"}, "send_to", "valid email"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(
    admin_client: Client,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    mailer(mail_oauth, make_artifact)
    response = send(admin_client, "smtp", **data)
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])


def test_it_needs_the_change_permission_and_a_known_tab(
    reader_client: Client, admin_client: Client
) -> None:
    assert reader_client.get(PAGE).status_code == 403
    assert admin_client.get(f"{PAGE}?tab=pop3").status_code == 400
    page = admin_client.get(f"{PAGE}?tab=imap").content.decode()
    assert 'value="outlook.office365.com"' in page and 'value="993"' in page


def test_microsofts_smtp_auth_disabled_answer_is_explained() -> None:
    import smtplib

    from connectivity.probes import _explain_smtp

    error = smtplib.SMTPAuthenticationError(
        535,
        b"5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        b"Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.",
    )
    text = _explain_smtp(error, "smtp.office365.com", 587)
    assert text.startswith("SMTP AUTH is disabled for this mailbox or tenant.")
    assert "Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled $false" in text


def test_internal_hosts_are_refused_when_private_endpoints_are_not_allowed(
    admin_client: Client, mail_oauth: OAuthServer, make_artifact: Any, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    mailer(mail_oauth, make_artifact)
    for host in ("127.0.0.1", "10.1.2.3", "169.254.169.254"):
        response = send(admin_client, "smtp", host=host, port="25", protection="starttls")
        assert response.status_code == 400
        [error] = response.context["form"].errors["host"]
        assert "This host points to an internal address" in error
    assert not AuditEntry.objects.filter(action="token_issued").exists()


class _EchoingSMTP(socketserver.StreamRequestHandler):
    """A careless server that quotes the client's SASL response in its refusal."""

    def handle(self) -> None:
        self.wfile.write(b"220 echo ESMTP\r\n")
        while line := self.rfile.readline():
            if line.upper().startswith(b"EHLO"):
                self.wfile.write(b"250-echo\r\n250 AUTH XOAUTH2\r\n")
            elif line.upper().startswith(b"AUTH"):
                self.wfile.write(b"334 \r\n")
                blob = self.rfile.readline().strip()
                self.wfile.write(b"535 5.7.8 rejected " + blob + b"\r\n")
            else:
                self.wfile.write(b"221 bye\r\n")
                return


def test_a_server_that_quotes_the_token_in_its_refusal_never_shows_it(
    admin_client: Client, mail_oauth: OAuthServer, make_artifact: Any
) -> None:
    mailer(mail_oauth, make_artifact)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoingSMTP)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = send(admin_client, "smtp", port=server.server_address[1]).content.decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "Failed: The server refused the access token." in page
    assert "rejected [redacted]" in page
    for secret in secrets_of():
        assert secret not in page
