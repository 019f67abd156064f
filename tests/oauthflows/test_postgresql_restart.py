"""PostgreSQL restarted in the middle of a refresh: after the provider rotated the refresh
token and before the new one is committed. The refresh keeps the answer and stores it once
the server is back, so the next refresh works with the stored token.

Real processes: a PostgreSQL cluster of the test's own (initdb, so the shared server is left
alone), `manage.py refresh_tokens` as the worker, the real OAuth server as provider.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import TEST_KEY
from tests.support.http_servers import HoldingTokenEndpoint
from tests.support.oauth_server import OAuthServer
from tests.support.processes import ROOT

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [""]
PG_CTL, INITDB = Path(BIN[0], "pg_ctl"), Path(BIN[0], "initdb")

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL restart (CI runs it)"
)

CREATE = """
from securitymaterial.models import OAuth2AuthorizationCode
OAuth2AuthorizationCode.objects.create(
    name="Restart_App", provider="generic", client_id="restart-app", client_secret="s3cret",
    authorization_url="https://auth.example.com/a", token_service_url="{url}",
    status="deployed", refresh_token="{refresh_token}", access_token="AT-0",
)
"""
READ = """
from securitymaterial.models import OAuth2AuthorizationCode
print(OAuth2AuthorizationCode.objects.get(name="Restart_App").refresh_token)
"""


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run as the postgres user."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder, self.data = folder, folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def run(self, *command: str) -> None:
        as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, *command], check=True, timeout=60, capture_output=True)  # noqa: S603

    def start(self) -> None:
        self.run(
            str(PG_CTL),
            "-D",
            str(self.data),
            "-o",
            self.options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def restart(self) -> None:
        """-m fast: every connection is cut, as in a real restart; -w: back when it answers."""
        self.run(
            str(PG_CTL),
            "-D",
            str(self.data),
            "-o",
            self.options,
            "-l",
            str(self.folder / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        self.run(str(PG_CTL), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: the postgres user must reach it (that is root's, 0700).
    folder = Path(tempfile.mkdtemp(prefix="sm-postgresql-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = Cluster(folder)
    try:
        server.run(
            str(INITDB),
            "-D",
            str(server.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def manage(cluster: Cluster, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "SECURITY_MATERIAL_KEYS": TEST_KEY,
        "SECURITY_MATERIAL_VAR_DIR": str(tmp_path / "var"),
        "ALLOW_PRIVATE_TOKEN_ENDPOINTS": "true",
        "REFRESH_STORE_RETRY_SECONDS": "30",
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_a_restart_between_the_providers_answer_and_the_commit_loses_no_token(
    cluster: Cluster, tmp_path: Path, oauth_server: OAuthServer, db: Any
) -> None:
    oauth_server.register_client("restart-app", "s3cret", "http://localhost/cb/", "body")
    upstream = f"{oauth_server.url}/o/token/"
    manage(cluster, tmp_path, "migrate", "-v", "0")
    with HoldingTokenEndpoint(upstream, hold=0, before_answer=cluster.restart) as proxy:
        first = oauth_server.issue_refresh_token("restart-app")
        manage(cluster, tmp_path, "shell", "-c", CREATE.format(url=proxy.url, refresh_token=first))
        said = manage(cluster, tmp_path, "refresh_tokens", "--name", "Restart_App", "--force")
    assert said == "Restart_App: refreshed (stored once the database was back)"
    stored = manage(cluster, tmp_path, "shell", "-c", READ)
    assert stored != first
    assert oauth_server.refresh_tokens_issued("restart-app") == 2
    # The stored token is the live one: the provider takes it for the next refresh.
    manage(
        cluster,
        tmp_path,
        "shell",
        "-c",
        CREATE.split("OAuth2AuthorizationCode.objects")[0]
        + f'OAuth2AuthorizationCode.objects.filter(name="Restart_App").update('
        f'token_service_url="{upstream}")',
    )
    again = manage(cluster, tmp_path, "refresh_tokens", "--name", "Restart_App", "--force")
    assert again == "Restart_App: refreshed"
