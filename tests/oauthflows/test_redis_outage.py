"""Redis goes away and comes back: the pages and the consumer API keep serving valid tokens
from the database meanwhile, and beat catches up on what fell due once Redis returns.
Real processes: our own redis-server (so the shared one is left alone), a Celery worker,
beat, and the real OAuth server."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.oauthflows.test_refresh_with_celery import TASK_SUCCEEDED, due_artifact
from tests.support.oauth_server import OAuthServer
from tests.support.processes import read_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """redis-server on a port of its own, keeping nothing on disk; stop() and start() again
    on the same port, as an outage and a recovery."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - Debian's redis-server
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # its own log says when it accepts connections
            if "Ready to accept connections" in line:
                break
        redis.Redis.from_url(self.url).ping()

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


@pytest.fixture
def broker_url(own_redis: RedisServer) -> str:
    return own_redis.url


def test_an_outage_of_redis_stops_nothing_but_the_schedule_which_catches_up(
    own_redis: RedisServer,
    worker: Any,
    beat: Any,
    oauth_server: OAuthServer,
    make_artifact: Any,
) -> None:
    served = make_artifact(
        name="Served",
        status=Status.DEPLOYED,
        refresh_token="RT-served",
        access_token="AT-served",
        access_token_expires_at=timezone.now() + timedelta(hours=1),
    )
    _, secret = ApiToken.create("consumer")
    read_until(beat, r"Sending due task schedule-refreshes", 30)  # beat runs with Redis up

    own_redis.stop()
    late = due_artifact(oauth_server, make_artifact, "late-app", f"{oauth_server.url}/o/token/")
    read_until(worker, r"Cannot connect to redis|Error 111|Connection refused", 60)
    read_until(beat, r"Connection refused|Error 111|Cannot connect", 60)
    # Meanwhile the API and the pages answer from the database.
    answer = Client().get(
        f"/api/v1/security-material/{served.name}/access-token",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert answer.status_code == 200
    assert answer.json()["access_token"] == "AT-served"
    assert OAuth2AuthorizationCode.objects.get(pk=late.pk).refresh_token == late.refresh_token

    own_redis.start()  # the same port: worker and beat reconnect by themselves
    assert read_until(worker, TASK_SUCCEEDED, 120).group(1) == "late-app: refreshed"
    stored = OAuth2AuthorizationCode.objects.get(pk=late.pk)
    assert stored.status == Status.DEPLOYED
    assert stored.refresh_token != late.refresh_token
    assert oauth_server.refresh_tokens_issued("late-app") == 2
