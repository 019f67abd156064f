from __future__ import annotations

import os
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
from tests.support.processes import celery, test_database_url


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
    arguments = ("worker", "--loglevel", "INFO", "--concurrency", "1")
    with celery(celery_env, *arguments, "--without-mingle", "--without-gossip") as process:
        yield process


@pytest.fixture
def beat(worker: Any, celery_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    schedule = str(tmp_path / "beat-schedule")
    with celery(celery_env, "beat", "--loglevel", "INFO", "--schedule", schedule) as process:
        yield process
