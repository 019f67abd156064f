"""Real mail servers on 127.0.0.1 that accept a login only with a bearer token that the test
OAuth server issued and still calls active (RFC 7662 introspection):

- an SMTP submission server built on aiosmtpd, with AUTH XOAUTH2, delivering into Maildirs;
- Debian's Dovecot for IMAP, with its oauth2 passdb, serving the same Maildirs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session
from django.utils import timezone

from securitymaterial.models import Status
from tests.support.oauth_server import USER, OAuthServer

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
INTROSPECTION_CLIENT = ("mail-server", "mail-server-secret")
MAIL_USER, MAIL_GROUP = "nobody", "nogroup"
MAILBOX = f"{USER}@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def introspect(oauth_url: str, token: str) -> dict[str, Any]:
    """RFC 7662 at django-oauth-toolkit, authenticated as the mail server's own client."""
    credentials = base64.b64encode(":".join(INTROSPECTION_CLIENT).encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{oauth_url}/o/introspect/",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer: dict[str, Any] = json.load(response)
    return answer


@dataclass
class SubmissionServer:
    """What the SMTP server saw, for the tests' assertions (never shown anywhere)."""

    port: int
    maildirs: Path
    auth_on_command_line: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, oauth_url: str, server: SubmissionServer) -> None:
        self.oauth_url = oauth_url
        self.server = server

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        on_line = len(args) > 2
        self.server.auth_on_command_line.append(on_line)
        blob = base64.b64decode(args[2]) if on_line else await smtp.challenge_auth("")
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        fields = dict(
            part.split("=", 1) for part in bytes(blob).decode().split("\x01") if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        answer = await asyncio.get_running_loop().run_in_executor(
            None, introspect, self.oauth_url, token
        )
        if answer.get("active") and user.split("@")[0] == answer.get("username"):
            self.server.logins.append(user)
            return AuthResult(success=True, auth_data=user)
        # Google's and Microsoft's way: the error as a 334 challenge; the client answers
        # with an empty line, then 535.
        await smtp.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in envelope.rcpt_tos:
            box = self.server.maildirs / recipient.split("@")[0]
            for sub in ("tmp", "new", "cur"):
                (box / sub).mkdir(parents=True, exist_ok=True)
            delivered = box / "new" / f"{time.time_ns()}.{os.getpid()}.smtp"
            delivered.write_bytes(bytes(envelope.original_content or b""))
            for path in (box, *box.iterdir(), delivered):
                shutil.chown(path, MAIL_USER, MAIL_GROUP)  # Dovecot works as this user
        return "250 2.0.0 Delivered"


class _SMTP(SMTP):
    # Like Exchange Online: a command line stays capped (512 here), but the answer after a
    # 334 may be as long as a Microsoft token's XOAUTH2 string.
    line_length_limit = 16 * 1024


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


@contextmanager
def submission_server(oauth_url: str, maildirs: Path) -> Iterator[SubmissionServer]:
    server = SubmissionServer(port=free_port(), maildirs=maildirs)
    controller = _Controller(
        _Handler(oauth_url, server),
        hostname="127.0.0.1",
        port=server.port,
        auth_required=True,
        auth_require_tls=False,  # loopback only
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass(frozen=True)
class ImapServer:
    port: int
    log: Path


@contextmanager
def dovecot(oauth_url: str, maildirs: Path) -> Iterator[ImapServer]:
    """Dovecot in the foreground with a configuration of its own (no system service)."""
    work = Path(tempfile.mkdtemp(prefix="dovecot-"))
    work.chmod(0o755)  # Dovecot's unprivileged processes read their config
    port = free_port()
    user, secret = INTROSPECTION_CLIENT
    parts = urllib.parse.urlsplit(oauth_url)
    introspection = f"{parts.scheme}://{user}:{secret}@{parts.netloc}/o/introspect/"
    (work / "oauth2.conf.ext").write_text(
        f"introspection_mode = post\n"
        f"introspection_url = {introspection}\n"
        "username_attribute = username\n"
        "username_format = %Ln\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    (work / "dovecot.conf").write_text(
        f"""
base_dir = {work}/run
state_dir = {work}/state
instance_name = dovecot-{port}
log_path = {work}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
mail_location = maildir:{maildirs}/%Ln
first_valid_uid = 1
mail_uid = {MAIL_USER}
mail_gid = {MAIL_GROUP}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {work}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_GROUP} home={maildirs}/%Ln
}}
"""
    )
    process = subprocess.Popen(  # noqa: S603 - Debian's dovecot with our own config
        [DOVECOT, "-F", "-c", str(work / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_port(port, process, work / "dovecot.log")
        yield ImapServer(port=port, log=work / "dovecot.log")
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[str], log: Path) -> None:
    """Until Dovecot accepts connections (it says nothing on its own when it is ready)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = (process.stderr.read() if process.stderr else "") + (
                log.read_text() if log.exists() else ""
            )
            raise AssertionError(f"dovecot exited: {said}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("dovecot did not start listening")


def read_maildir(maildirs: Path, user: str) -> list[Any]:
    box = maildirs / user.split("@")[0]
    return [message_from_bytes(p.read_bytes()) for p in sorted(box.glob("*/*")) if p.is_file()]


# Fixtures for the tests that send and read mail (tests/*/conftest.py re-export them).


@pytest.fixture(scope="session")
def mail_oauth(oauth_server: OAuthServer) -> OAuthServer:
    oauth_server.register_client(*INTROSPECTION_CLIENT, "http://localhost/", auth_method="basic")
    for client_id in ("mailer-app", "long-mailer-app"):
        oauth_server.register_client(
            client_id, "mailer-secret", "http://localhost/oauth2/callback/", auth_method="body"
        )
    return oauth_server


@pytest.fixture
def maildirs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="maildirs-") as path:
        Path(path).chmod(0o755)  # Dovecot's processes must reach the mailboxes
        yield Path(path)


@pytest.fixture
def smtp_server(mail_oauth: OAuthServer, maildirs: Path) -> Iterator[SubmissionServer]:
    with submission_server(mail_oauth.url, maildirs) as server:
        yield server


@pytest.fixture
def imap_server(mail_oauth: OAuthServer, maildirs: Path) -> Iterator[ImapServer]:
    with dovecot(mail_oauth.url, maildirs) as server:
        yield server


def mailer(oauth: OAuthServer, make_artifact: Any, client_id: str = "mailer-app") -> Any:
    """An authorized artifact whose access token has expired: the first use refreshes it."""
    return make_artifact(
        name="M365_Mailer",
        client_id=client_id,
        client_secret="mailer-secret",
        token_service_url=f"{oauth.url}/o/token/",
        status=Status.DEPLOYED,
        user_name=MAILBOX,
        access_token="expired",
        refresh_token_expiry_days=90,
        refresh_token=oauth.issue_refresh_token(client_id),
        access_token_expires_at=timezone.now() - timedelta(minutes=1),
        refresh_token_renewed_at=timezone.now() - timedelta(hours=1),
    )
