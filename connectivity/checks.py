"""SMTP and IMAP checks with an artifact's access token (SASL XOAUTH2), with a transcript
that never shows a token. The token comes through the same path as the API's."""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from django.views.decorators.debug import sensitive_variables

from oauthflows import access
from securitymaterial.models import OAuth2AuthorizationCode
from smclient import imap_xoauth2, smtp_xoauth2

TIMEOUT = 15.0
REDACTED = "[XOAUTH2 response, redacted]"


@dataclass
class Transcript:
    """What client (C) and server (S) said, with every secret taken out."""

    lines: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def add(self, who: str, text: str) -> None:
        for line in text.rstrip("\r\n").split("\n"):
            last = self.lines[-1] if self.lines else ""
            if who == "C" and (last.startswith("S: 334") or last.startswith("S: +")):
                line = REDACTED  # whatever answers a SASL challenge is a credential
            self.lines.append(f"{who}: {self.redact(line.rstrip(chr(13)))[:300]}")

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


@dataclass(frozen=True)
class Result:
    ok: bool
    summary: str
    transcript: list[str]

    @property
    def outcome(self) -> str:
        return f"{'Success' if self.ok else 'Failed'}: {self.summary}"


class _RecordingSMTP(smtplib.SMTP):
    # Each connection records into its own transcript, set before the banner is read.
    def __init__(self, transcript: Transcript, *args: Any, **kwargs: Any) -> None:
        self.transcript = transcript
        super().__init__(*args, **kwargs)

    def send(self, s: Any) -> None:
        self.transcript.add("C", s.decode("utf-8", "replace") if isinstance(s, bytes) else s)
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        self.transcript.add("S", f"{code} {message.decode('utf-8', 'replace')}")
        return code, message


class _RecordingSMTPSSL(_RecordingSMTP, smtplib.SMTP_SSL):
    pass


class _RecordingIMAP(imaplib.IMAP4):
    def __init__(self, transcript: Transcript, *args: Any, **kwargs: Any) -> None:
        self.transcript = transcript
        super().__init__(*args, **kwargs)

    def send(self, data: Any) -> None:
        self.transcript.add("C", bytes(data).decode("utf-8", "replace"))
        super().send(data)

    def _get_line(self) -> bytes:
        line: bytes = super()._get_line()  # type: ignore[misc]
        self.transcript.add("S", line.decode("utf-8", "replace"))
        return line


class _RecordingIMAPSSL(_RecordingIMAP, imaplib.IMAP4_SSL):
    pass


def _start(
    artifact: OAuth2AuthorizationCode, protocol: str, by: str
) -> tuple[access.IssuedToken, Transcript]:
    """A valid token (through the API's path) and a transcript that hides it."""
    token = access.issue(artifact, via=f"Connectivity Test ({protocol}) by {by}")
    return token, Transcript(secrets=[token.access_token, token.sasl_xoauth2])


@sensitive_variables()
def check_smtp(
    artifact: OAuth2AuthorizationCode,
    host: str,
    port: int,
    protection: str,
    *,
    send_to: str = "",
    by: str,
) -> Result:
    """EHLO, STARTTLS (or TLS), AUTH XOAUTH2, and optionally a test message."""
    try:
        token, transcript = _start(artifact, "SMTP", by)
    except access.TokenUnavailable as error:
        return Result(False, f"No valid access token: {error.message}", [])
    context = ssl.create_default_context()
    smtp: smtplib.SMTP | None = None
    try:
        if protection == "tls":
            smtp = _RecordingSMTPSSL(transcript, host, port, timeout=TIMEOUT, context=context)
        else:
            smtp = _RecordingSMTP(transcript, host, port, timeout=TIMEOUT)
        smtp.ehlo()
        if protection == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        smtp_xoauth2(smtp, token.user_name, token.access_token)
        summary = f"signed in as {token.user_name} with OAuth2 (XOAUTH2)."
        if send_to:
            message = EmailMessage()
            message["From"], message["To"] = token.user_name, send_to
            message["Subject"] = "Security Material connectivity test"
            message.set_content(f"Sent by {artifact.name} to test SMTP with OAuth2.")
            smtp.send_message(message)
            summary += f" A test message went to {send_to}."
        smtp.quit()
        return Result(True, summary, transcript.lines)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        # A server may quote what it was sent in its error.
        return Result(False, transcript.redact(_explain_smtp(error, host, port)), transcript.lines)
    finally:
        if smtp is not None:
            smtp.close()


@sensitive_variables()
def check_imap(
    artifact: OAuth2AuthorizationCode, host: str, port: int, protection: str, *, by: str
) -> Result:
    """TLS (or STARTTLS), AUTHENTICATE XOAUTH2, SELECT INBOX read-only and count."""
    try:
        token, transcript = _start(artifact, "IMAP", by)
    except access.TokenUnavailable as error:
        return Result(False, f"No valid access token: {error.message}", [])
    context = ssl.create_default_context()
    imap: imaplib.IMAP4 | None = None
    try:
        if protection == "tls":
            imap = _RecordingIMAPSSL(transcript, host, port, ssl_context=context, timeout=TIMEOUT)
        else:
            imap = _RecordingIMAP(transcript, host, port, timeout=TIMEOUT)
        if protection == "starttls":
            imap.starttls(ssl_context=context)
        imap_xoauth2(imap, token.user_name, token.access_token)
        status, data = imap.select("INBOX", readonly=True)
        count = int(data[0] or 0) if status == "OK" and data else 0
        imap.logout()
        return Result(
            True,
            f"signed in as {token.user_name} with OAuth2 (XOAUTH2); INBOX holds "
            f"{count} message{'s' if count != 1 else ''}.",
            transcript.lines,
        )
    except (imaplib.IMAP4.error, OSError, ssl.SSLError, ValueError) as error:
        return Result(False, transcript.redact(_explain_imap(error, host, port)), transcript.lines)
    finally:
        if imap is not None:
            with contextlib.suppress(OSError):
                imap.shutdown()


def _explain_network(error: Exception, host: str, port: int) -> str | None:
    if isinstance(error, socket.gaierror):
        return f"The host name {host} could not be resolved."
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {host} could not be verified ({error.verify_message})."
    if isinstance(error, ssl.SSLError):
        return (
            f"TLS with {host}:{port} failed. Check Protection: STARTTLS for port 587, "
            "TLS for 465 and 993."
        )
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{host}:{port} did not answer within {TIMEOUT:g} seconds."
    if isinstance(error, ConnectionRefusedError):
        return f"{host}:{port} refused the connection. Check Host and Port."
    if isinstance(error, OSError):
        return f"The connection to {host}:{port} failed ({error.strerror or error})."
    return None


def _explain_smtp(error: Exception, host: str, port: int) -> str:
    # SMTP's exceptions are OSErrors too: look at them before the network's.
    if not isinstance(error, smtplib.SMTPException):
        return _explain_network(error, host, port) or f"The SMTP exchange failed: {error}."
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{host}:{port} closed the connection ({error})."
    if isinstance(error, smtplib.SMTPAuthenticationError):
        raw = error.smtp_error
        reply = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if "SmtpClientAuthentication" in reply or "5.7.139" in reply:
            return (
                "SMTP AUTH is disabled for this mailbox or tenant. An Exchange admin must "
                "enable it: Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled $false. "
                f"The server said: {error.smtp_code} {reply[:200]}"
            )
        return (
            "The server refused the access token. Check that Scope includes "
            "https://outlook.office.com/SMTP.Send (or the server's scope) and that User Name is "
            f"the mailbox. The server said: {error.smtp_code} {reply[:200]}"
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"{host} does not offer that over this connection: {error}."
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return f"Signed in, but the test message was refused: {error}."
    return f"The SMTP exchange failed: {error}."


def _explain_imap(error: Exception, host: str, port: int) -> str:
    network = _explain_network(error, host, port)
    if network:
        return network
    text = str(error)[:200]
    if "AUTHENTICATE" in text.upper() or "authentication failed" in text.lower():
        return (
            "The server refused the access token. Check that Scope includes "
            "https://outlook.office.com/IMAP.AccessAsUser.All (or the server's scope), that "
            f"IMAP is enabled for the mailbox and that User Name is the mailbox. The server "
            f"said: {text}"
        )
    return f"The IMAP exchange failed: {text}"
