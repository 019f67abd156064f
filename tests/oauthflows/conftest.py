from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import TEST_KEY
from tests.support.processes import read_until, stop, test_database_url
from tests.support.processes import start as start_process


def start(client: Client, artifact: Any) -> dict[str, str]:
    """Choose Authorize; return the authorization request's query parameters."""
    response = client.post(reverse("oauthflows:authorize", args=[artifact.pk]))
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    return {key: values[0] for key, values in query.items()}


@pytest.fixture
def authorized(make_artifact: Any) -> OAuth2AuthorizationCode:
    """Authorized 46 days ago with Refresh Token Expiry 90: renewal (at 45 days) is due."""
    now = timezone.now()
    artifact: OAuth2AuthorizationCode = make_artifact(
        status=Status.DEPLOYED,
        access_token="AT-old",
        refresh_token="RT-old",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now - timedelta(days=46),
        access_token_expires_at=now - timedelta(days=46) + timedelta(hours=1),
    )
    artifact.reschedule(now)
    artifact.save()
    return artifact


# A real Celery worker and beat in their own processes, on the broker a module's
# `broker_url` fixture names (each module that uses them defines it).


@pytest.fixture
def celery_env(broker_url: str, tmp_path: Path, transactional_db: None) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "SECURITY_MATERIAL_KEYS": TEST_KEY,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "SECURITY_MATERIAL_VAR_DIR": str(tmp_path),
        "REFRESH_SCHEDULE_SECONDS": "1",
    }


@pytest.fixture
def worker(celery_env: dict[str, str]) -> Iterator[Any]:
    process = start_process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
        ],
        celery_env,
    )
    try:
        read_until(process, r"celery@\S+ ready", 60)
        yield process
    finally:
        stop(process)


@pytest.fixture
def beat(worker: Any, celery_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    process = start_process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        celery_env,
    )
    try:
        yield process
    finally:
        stop(process)
