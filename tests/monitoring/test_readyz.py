"""Liveness and readiness: /healthz says the process serves, touching nothing else;
/readyz checks the database, the broker and the keys, and names what failed."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client

from securitymaterial.models import SecureParameter
from tests.support.mailservers import free_port


def test_liveness_touches_no_database(db: None, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_ready_when_database_broker_and_keys_work(db: None) -> None:
    SecureParameter.objects.create(name="Key_1", value="v")
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"database": "ok", "broker": "ok", "keys": "ok"},
    }
    assert "no-store" in response["Cache-Control"]


def test_a_stopped_broker_is_named(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "cannot be reached",
        "keys": "ok",
    }


def test_a_key_that_reads_no_stored_secret_is_named_without_the_secret(
    db: None, settings: Any
) -> None:
    SecureParameter.objects.create(name="Key_1", value="sp-Plain-Readiness")
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode()]
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["keys"] == (
        "a stored secret cannot be decrypted with SECURITY_MATERIAL_KEYS"
    )
    assert "sp-Plain-Readiness" not in response.content.decode()


def test_a_database_that_cannot_be_reached_is_named(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitoring import readiness

    class Gone:
        def cursor(self) -> Any:
            raise connection.Database.OperationalError("the database system is shutting down")

    monkeypatch.setattr(readiness, "connection", Gone())
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "cannot be reached"


@pytest.mark.slow
def test_a_redis_that_stops_is_named(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Redis as the broker: ready while it runs, "broker" named once it stops."""
    port = free_port()
    redis_server = shutil.which("redis-server") or "redis-server"
    options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(  # noqa: S603 - Debian's redis-server, on loopback
        [redis_server, "--port", str(port), *options], stdout=subprocess.DEVNULL
    )
    monkeypatch.setattr(current_app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")
    try:
        deadline = time.monotonic() + 10
        while Client().get("/readyz").status_code != 200:  # until it accepts connections
            assert time.monotonic() < deadline and server.poll() is None, "Redis did not start"
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=10)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "cannot be reached",
        "keys": "ok",
    }
