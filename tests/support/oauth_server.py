"""Runs the test-only OAuth 2.0 server (tests/oauthserver) as its own process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT, read_until, start, stop

USER, PASSWORD = "alice", "provider-password-1"


@dataclass(frozen=True)
class OAuthServer:
    url: str
    env: dict[str, str]

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        auth_method: str,
        grant: str = "authorization-code",
    ) -> None:
        subprocess.run(  # noqa: S603 - our own test server's command
            [
                sys.executable,
                "-m",
                "django",
                "register_client",
                "--client-id",
                client_id,
                "--client-secret",
                client_secret,
                "--redirect-uri",
                redirect_uri,
                "--auth-method",
                auth_method,
                "--username",
                USER,
                "--password",
                PASSWORD,
                "--grant",
                grant,
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=60,
        )

    def issue_refresh_token(self, client_id: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "django", "issue_tokens", "--client-id", client_id],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def revoke_access_token(self, token: str) -> None:
        """As an admin revoking a session would: introspection calls it inactive."""
        with sqlite3.connect(self.env["OAUTH_SERVER_DB"]) as db:
            db.execute(
                "UPDATE oauth2_provider_accesstoken SET expires = '2000-01-01 00:00:00'"
                " WHERE token = ?",
                (token,),
            )

    def token_requests(self) -> list[dict[str, Any]]:
        """What the token endpoint received so far (tests.oauthserver.middleware)."""
        path = Path(self.env["OAUTH_SERVER_REQUESTS"])
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def access_tokens_issued(self, client_id: str) -> int:
        with sqlite3.connect(self.env["OAUTH_SERVER_DB"]) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM oauth2_provider_accesstoken t"
                " JOIN oauth2_provider_application app ON t.application_id = app.id"
                " WHERE app.client_id = ?",
                (client_id,),
            ).fetchone()
        return int(count)

    def refresh_tokens_issued(self, client_id: str) -> int:
        """How many refresh tokens the server has issued to the client (one per grant)."""
        with sqlite3.connect(self.env["OAUTH_SERVER_DB"]) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM oauth2_provider_refreshtoken rt"
                " JOIN oauth2_provider_application app ON rt.application_id = app.id"
                " WHERE app.client_id = ?",
                (client_id,),
            ).fetchone()
        return int(count)


@contextmanager
def running_oauth_server(workdir: Path) -> Iterator[OAuthServer]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oauthserver.settings",
        "OAUTH_SERVER_DB": str(workdir / "provider.sqlite3"),
        "OAUTH_SERVER_REQUESTS": str(workdir / "token-requests.jsonl"),
    }
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    process = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.oauthserver.wsgi",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--threads",
            "8",
            "--no-control-socket",
        ],
        env,
    )
    try:
        yield OAuthServer(url=_listening_url(process), env=env)
    finally:
        stop(process)


def _listening_url(process: subprocess.Popen[str]) -> str:
    """Gunicorn logs the port it bound (port 0 picks a free one)."""
    try:
        return read_until(process, r"Listening at: (http://127\.0\.0\.1:\d+)", 60).group(1)
    except AssertionError:
        process.kill()
        raise
