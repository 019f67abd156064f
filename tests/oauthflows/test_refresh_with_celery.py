"""Real Celery: a worker and beat in their own processes, Redis as broker, the real OAuth
server as provider. Nobody calls a task; beat finds the due artifact."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET
from tests.support.http_servers import HoldingTokenEndpoint
from tests.support.oauth_server import OAuthServer
from tests.support.processes import ROOT, read_until

BROKER = "redis://127.0.0.1:6379/15"
TASK_SUCCEEDED = r"refresh_credentials\[[\w-]+\] succeeded in [\d.]+s: \['(.*)'\]"


@pytest.fixture
def broker_url() -> str:
    redis.Redis.from_url(BROKER).flushdb()
    return BROKER


def due_artifact(
    oauth_server: OAuthServer, make_artifact: Any, client_id: str, token_url: str
) -> OAuth2AuthorizationCode:
    oauth_server.register_client(client_id, CLIENT_SECRET, "http://localhost/cb/", "body")
    now = timezone.now()
    artifact: OAuth2AuthorizationCode = make_artifact(
        name=client_id,
        client_id=client_id,
        token_service_url=token_url,
        status=Status.DEPLOYED,
        access_token="AT-0",
        refresh_token=oauth_server.issue_refresh_token(client_id),
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now - timedelta(days=46),
    )
    artifact.reschedule(now)
    artifact.save()
    return artifact


def test_beat_refreshes_a_due_artifact_through_a_real_worker(
    worker: Any, beat: Any, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    artifact = due_artifact(oauth_server, make_artifact, "beat-app", f"{oauth_server.url}/o/token/")
    assert read_until(worker, TASK_SUCCEEDED, 60).group(1) == "beat-app: refreshed"
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED
    assert stored.refresh_token != artifact.refresh_token
    assert stored.next_refresh_at is not None
    assert stored.next_refresh_at > timezone.now() + timedelta(days=44)
    assert oauth_server.refresh_tokens_issued("beat-app") == 2


def pool_process_of(worker: Any) -> int:
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert len(children) == 1, children  # --concurrency 1
    return int(children[0])


def test_a_worker_killed_mid_refresh_loses_nothing(
    worker: Any, beat: Any, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    with HoldingTokenEndpoint(f"{oauth_server.url}/o/token/", hold=1) as proxy:
        artifact = due_artifact(oauth_server, make_artifact, "killed-app", proxy.url)
        assert proxy.in_flight.wait(timeout=60), "the worker never asked for a token"
        os.kill(pool_process_of(worker), 9)  # SIGKILL in the middle of the refresh
        read_until(worker, r"WorkerLostError|exited with 'signal 9", 30)
        # acks_late + reject_on_worker_lost: the message goes back and runs again.
        assert read_until(worker, TASK_SUCCEEDED, 60).group(1) == "killed-app: refreshed"
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED
    assert stored.refresh_token != artifact.refresh_token
    assert proxy.requests == 2
    assert oauth_server.refresh_tokens_issued("killed-app") == 2


def test_the_file_system_broker_keeps_its_control_files_under_var(tmp_path: Path) -> None:
    """kombu's default puts a control/ folder into whatever directory the worker runs in."""
    cwd, var = tmp_path / "cwd", tmp_path / "var"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        SECURITY_MATERIAL_VAR_DIR=str(var),
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    # What a worker does at start: bind its control queue to the broadcast exchange.
    script = (
        "import django; django.setup(); from config.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    app.control.mailbox(conn).Node('probe', channel=conn.default_channel).listen()\n"
        "    app.control.ping(timeout=0.1)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, check=True, timeout=60)  # noqa: S603
    assert list(cwd.iterdir()) == []
    assert (var / "broker" / "control" / "celery.pidbox.exchange").exists()
