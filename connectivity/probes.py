"""SMTP and IMAP checks with an artifact's access token (SASL XOAUTH2), with a transcript
that never shows a token. The token comes through the same path as the API's."""

from __future__ import annotations

import contextlib
import fcntl
import imaplib
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from oauthflows import access
from oauthflows.transport import Deadline
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode
from securitymaterial.redaction import Redactor
from smclient import imap_xoauth2, smtp_xoauth2

TIMEOUT = 10.0  # one socket operation
DEADLINE = 20.0  # the whole test, well under gunicorn's worker timeout (config/gunicorn)
REDACTED = "[XOAUTH2 response, redacted]"
MAX_LINES = 200
MAX_LINE_CHARS = 300
MAX_SUMMARY_CHARS = 600
PROTOCOLS = {"smtp": "SMTP", "imap": "IMAP"}


@dataclass
class Transcript:
    """What client (C) and server (S) said, with every secret taken out (before any cut),
    at most MAX_LINES lines of MAX_LINE_CHARS: a server cannot fill the page."""

    redact: Redactor
    lines: list[str] = field(default_factory=list)
    left_out: int = 0
    _after_challenge: bool = False

    def add(self, who: str, text: str) -> None:
        for line in text.rstrip("\r\n").split("\n"):
            if who == "C" and self._after_challenge:
                line = REDACTED  # whatever answers a SASL challenge is a credential
            self._after_challenge = who == "S" and line.startswith(("334", "+"))
            if len(self.lines) < MAX_LINES:
                self.lines.append(f"{who}: {self.redact(line.rstrip(chr(13)), MAX_LINE_CHARS)}")
            else:
                self.left_out += 1

    def shown(self) -> list[str]:
        if not self.left_out:
            return self.lines
        return [
            *self.lines,
            f"[{self.left_out} more lines not shown: the transcript is cut at {MAX_LINES} lines]",
        ]


@dataclass(frozen=True)
class Result:
    ok: bool
    summary: str
    transcript: list[str]

    @property
    def outcome(self) -> str:
        return f"{'Success' if self.ok else 'Failed'}: {self.summary}"


@dataclass
class _Connection:
    """Where a test connects: exactly the address the form checked, with TLS verified
    against the host name, every socket watched by the test's deadline."""

    host: str
    address: str
    port: int
    implicit_tls: bool
    context: ssl.SSLContext
    deadline: Deadline

    def open(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.address, self.port), timeout)
        self.deadline.watch(sock)
        if self.implicit_tls:
            return self.context.wrap_socket(sock, server_hostname=self.host)
        return sock


class _RecordingSMTP(smtplib.SMTP):
    # Each connection records into its own transcript, set before the banner is read.
    def __init__(self, transcript: Transcript, connection: _Connection) -> None:
        self.transcript = transcript
        self.connection = connection
        super().__init__(connection.host, connection.port, timeout=TIMEOUT)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.connection.open(timeout)

    def send(self, s: Any) -> None:
        self.transcript.add("C", s.decode("utf-8", "replace") if isinstance(s, bytes) else s)
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        self.transcript.add("S", f"{code} {message.decode('utf-8', 'replace')}")
        return code, message


class _RecordingIMAP(imaplib.IMAP4):
    def __init__(self, transcript: Transcript, connection: _Connection) -> None:
        self.transcript = transcript
        self.connection = connection
        super().__init__(connection.host, connection.port, timeout=TIMEOUT)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return self.connection.open(timeout or TIMEOUT)

    def send(self, data: Any) -> None:
        self.transcript.add("C", bytes(data).decode("utf-8", "replace"))
        super().send(data)

    def _get_line(self) -> bytes:
        line: bytes = super()._get_line()  # type: ignore[misc]
        self.transcript.add("S", line.decode("utf-8", "replace"))
        return line


BUSY = Result(
    False,
    "Another Connectivity Test is running on this server; try again in a few seconds.",
    [],
)


@contextlib.contextmanager
def one_at_a_time() -> Iterator[bool]:
    """At most one test at a time on this machine, across its web workers (a lock file in
    the service's var/): a test may wait on a slow server for up to DEADLINE seconds, and
    tests must not take every worker from the consumer API. Yields whether it got the turn."""
    with open(settings.VAR_DIR / "connectivity-test.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run(
    protocol: str, artifact: OAuth2AuthorizationCode, data: dict[str, Any], user: Any
) -> Result:
    """The test the form describes, and its audit entry: every test, never folded into
    another (who, protocol, host, port, User Name, outcome). Refused while another runs."""
    with one_at_a_time() as my_turn:
        if not my_turn:
            return BUSY
        return _run(protocol, artifact, data, user)


def _run(
    protocol: str, artifact: OAuth2AuthorizationCode, data: dict[str, Any], user: Any
) -> Result:
    by = user.get_username()
    where = (data["host"], data["address"], data["port"], data["protection"])
    if protocol == "smtp":
        result = check_smtp(artifact, *where, send_to=data.get("send_to") or "", by=by)
    else:
        result = check_imap(artifact, *where, by=by)
    AuditEntry.record(
        artifact,
        AuditEntry.Action.CONNECTIVITY_TESTED,
        user,
        detail=f"{PROTOCOLS[protocol]} {data['host']}:{data['port']} as "
        f"{artifact.user_name or '(no User Name)'}: {result.outcome}",
    )
    return result


def _start(
    artifact: OAuth2AuthorizationCode, protocol: str, by: str
) -> tuple[access.IssuedToken, Transcript]:
    """A valid token (through the API's path) and a transcript that hides it."""
    token = access.issue(artifact, via=f"Connectivity Test ({protocol}) by {by}")
    return token, Transcript(Redactor([token.access_token, token.sasl_xoauth2]))


def _failed(
    transcript: Transcript, deadline: Deadline, explanation: str, host: str, port: int
) -> Result:
    if deadline.expired:
        explanation = f"{host}:{port} did not finish the test within {DEADLINE:g} seconds."
    # A server may quote what it was sent in its error: redacted, then cut.
    return Result(False, transcript.redact(explanation, MAX_SUMMARY_CHARS), transcript.shown())


@sensitive_variables()
def check_smtp(
    artifact: OAuth2AuthorizationCode,
    host: str,
    address: str,
    port: int,
    protection: str,
    *,
    send_to: str = "",
    by: str,
) -> Result:
    """EHLO, STARTTLS (or TLS), AUTH XOAUTH2, and optionally a test message. A server that
    does not offer STARTTLS when it was asked for is refused: no token in clear text."""
    try:
        token, transcript = _start(artifact, "SMTP", by)
    except access.TokenUnavailable as error:
        return Result(False, f"No valid access token: {error.message}", [])
    context = ssl.create_default_context()
    smtp: smtplib.SMTP | None = None
    with Deadline(DEADLINE) as deadline:
        try:
            where = _Connection(host, address, port, protection == "tls", context, deadline)
            smtp = _RecordingSMTP(transcript, where)
            smtp.ehlo()
            if protection == "starttls":
                smtp.starttls(context=context)  # SMTPNotSupportedError if not offered
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
            return Result(True, summary, transcript.shown())
        except (smtplib.SMTPException, OSError, ssl.SSLError, ValueError) as error:
            return _failed(transcript, deadline, _explain_smtp(error, host, port), host, port)
        finally:
            if smtp is not None:
                smtp.close()


@sensitive_variables()
def check_imap(
    artifact: OAuth2AuthorizationCode,
    host: str,
    address: str,
    port: int,
    protection: str,
    *,
    by: str,
) -> Result:
    """TLS (or STARTTLS), AUTHENTICATE XOAUTH2, SELECT INBOX read-only and count."""
    try:
        token, transcript = _start(artifact, "IMAP", by)
    except access.TokenUnavailable as error:
        return Result(False, f"No valid access token: {error.message}", [])
    context = ssl.create_default_context()
    imap: imaplib.IMAP4 | None = None
    with Deadline(DEADLINE) as deadline:
        try:
            where = _Connection(host, address, port, protection == "tls", context, deadline)
            imap = _RecordingIMAP(transcript, where)
            if protection == "starttls":
                imap.starttls(ssl_context=context)  # refused if the server does not offer it
            imap_xoauth2(imap, token.user_name, token.access_token)
            status, data = imap.select("INBOX", readonly=True)
            count = int(data[0] or 0) if status == "OK" and data else 0
            imap.logout()
            return Result(
                True,
                f"signed in as {token.user_name} with OAuth2 (XOAUTH2); INBOX holds "
                f"{count} message{'s' if count != 1 else ''}.",
                transcript.shown(),
            )
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, ValueError) as error:
            return _failed(transcript, deadline, _explain_imap(error, host, port), host, port)
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


_BYTES_RE = re.compile(r"""b(['"])(.*?)\1""")


def _words(error: object) -> str:
    """What a server said, as words: Python's b'...' and tuples taken off, one period."""
    if isinstance(error, smtplib.SMTPResponseException):
        raw = error.smtp_error
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = f"{error.smtp_code} {text}" if error.smtp_code > 0 else text
    else:
        text = _BYTES_RE.sub(r"\2", str(error))
    return " ".join(text.replace("\\r\\n", " ").split()).strip(" .[]()")


def _other_protocol(words: str, host: str, port: int, expected: str) -> str | None:
    """A greeting of the other protocol: the port is the other service's."""
    if expected == "SMTP" and (words.startswith("* OK") or "IMAP4" in words):
        return (
            f"{host}:{port} speaks IMAP, not SMTP. Check Port: SMTP is 587 with STARTTLS "
            "(or 465 with TLS)."
        )
    if expected == "IMAP" and (words[:3] in ("220", "554") or "ESMTP" in words):
        return f"{host}:{port} speaks SMTP, not IMAP. Check Port: IMAP is 993 with TLS."
    return None


def _explain_smtp(error: Exception, host: str, port: int) -> str:
    # SMTP's exceptions are OSErrors too: look at them before the network's.
    if not isinstance(error, smtplib.SMTPException):
        return _explain_network(error, host, port) or f"The SMTP exchange failed: {_words(error)}."
    words = _words(error)
    other = _other_protocol(words, host, port, "SMTP")
    if other:
        return other
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{host}:{port} closed the connection ({words})."
    if isinstance(error, smtplib.SMTPAuthenticationError):
        raw = error.smtp_error
        reply = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if "SmtpClientAuthentication" in reply or "5.7.139" in reply:
            return (
                "SMTP AUTH is disabled for this mailbox or tenant. An Exchange admin must "
                "enable it: Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled $false. "
                f"The server said: {error.smtp_code} {reply}"
            )
        return (
            "The server refused the access token. Check that Scope includes "
            "https://outlook.office.com/SMTP.Send (or the server's scope) and that User Name is "
            f"the mailbox. The server said: {error.smtp_code} {reply}"
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"{host} does not offer that over this connection: {words}."
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return f"Signed in, but the test message was refused: {words}."
    return f"The SMTP exchange failed: {words}."


def _explain_imap(error: Exception, host: str, port: int) -> str:
    network = _explain_network(error, host, port)
    if network:
        return network
    text = _words(error)  # cut by the caller, after redaction
    other = _other_protocol(text.split("=> ")[-1].split(": ")[-1], host, port, "IMAP")
    if other:
        return other
    # AUTHENTICATIONFAILED: the response code of RFC 5530 §3.
    if any(word in text.upper() for word in ("AUTHENTICATE", "AUTHENTICATION")):
        return (
            "The server refused the access token. Check that Scope includes "
            "https://outlook.office.com/IMAP.AccessAsUser.All (or the server's scope), that "
            f"IMAP is enabled for the mailbox and that User Name is the mailbox. The server "
            f"said: {text}."
        )
    return f"The IMAP exchange failed: {text}."
