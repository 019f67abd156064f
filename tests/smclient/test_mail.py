"""The Python client for integrations against real mail servers on 127.0.0.1 that check
every bearer token at the test OAuth server: send over SMTP, read it back over IMAP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from api.models import ApiToken
from securitymaterial.models import OAuth2AuthorizationCode, Status
from smclient import SecurityMaterial, SecurityMaterialError
from tests.support.mailservers import MAILBOX, ImapServer, SubmissionServer, mailer, read_maildir
from tests.support.oauth_server import OAuthServer


def service(live_server: Any) -> SecurityMaterial:
    _, secret = ApiToken.create("mail-integration")
    return SecurityMaterial(live_server.url, api_token=secret)


def message(subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MAILBOX, MAILBOX, subject
    mail.set_content("Sent with an access token from Security Material.")
    return mail


def test_send_over_smtp_and_read_it_back_over_imap(
    live_server: Any,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
    imap_server: ImapServer,
    maildirs: Path,
) -> None:
    mailer(mail_oauth, make_artifact)
    client = service(live_server)
    with client.smtp("M365_Mailer", "127.0.0.1", smtp_server.port, protection="none") as smtp:
        smtp.send_message(message("Invoice 42"))
    assert smtp_server.logins == [MAILBOX]
    assert [m["Subject"] for m in read_maildir(maildirs, MAILBOX)] == ["Invoice 42"]

    imap = client.imap("M365_Mailer", "127.0.0.1", imap_server.port, protection="none")
    try:
        status, count = imap.select("INBOX")
        assert (status, count) == ("OK", [b"1"])
        _, data = imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
        assert b"Invoice 42" in data[0][1]
    finally:
        imap.logout()
    token = OAuth2AuthorizationCode.objects.get(name="M365_Mailer").access_token
    assert token != "expired"
    assert token not in imap_server.log.read_text()


def test_a_two_kilobyte_token_signs_in_after_the_334(
    live_server: Any,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
) -> None:
    mailer(mail_oauth, make_artifact, client_id="long-mailer-app")
    client = service(live_server)
    with client.smtp("M365_Mailer", "127.0.0.1", smtp_server.port, protection="none") as smtp:
        smtp.noop()
    assert len(OAuth2AuthorizationCode.objects.get().access_token) >= 2000
    assert smtp_server.auth_on_command_line == [False]  # the initial response came after 334
    assert smtp_server.logins == [MAILBOX]


def test_a_revoked_token_is_refused_and_the_client_says_so(
    live_server: Any,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
) -> None:
    artifact = mailer(mail_oauth, make_artifact)
    client = service(live_server)
    token = client.access_token("M365_Mailer")
    mail_oauth.revoke_access_token(token.access_token)
    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        client.smtp("M365_Mailer", "127.0.0.1", smtp_server.port, protection="none")
    assert caught.value.smtp_code == 535
    assert smtp_server.logins == []
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).status == Status.DEPLOYED


def test_the_client_reports_the_services_answer(live_server: Any, make_artifact: Any) -> None:
    make_artifact(name="Never_Authorized")
    client = service(live_server)
    with pytest.raises(SecurityMaterialError) as caught:
        client.access_token("Never_Authorized")
    assert caught.value.status == 409
    assert "an admin must choose Authorize" in caught.value.message
    assert "smt_" not in repr(client)
