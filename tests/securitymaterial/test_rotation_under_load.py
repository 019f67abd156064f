"""Key rotation without downtime: a new key in front, rotate_keys while consumers fetch
tokens and refreshes rotate them, then the old key removed ("restart"). No request fails,
no refresh fails, and every stored secret decrypts with the new key alone."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from bench.token_server import TokenServer
from oauthflows import refresh
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (CI runs it)"
)
ARTIFACTS = 40


def in_a_loop(stop: threading.Event, step: Callable[[], str], seen: Counter[str]) -> None:
    try:
        while not stop.is_set():
            seen[step()] += 1
    finally:
        connection.close()  # this thread's own


def test_rotate_keys_while_the_api_serves_and_refreshes_run(
    transactional_db: None, make_artifact: Any, settings: Any
) -> None:
    with TokenServer() as server:
        artifacts = [
            make_artifact(
                name=f"Load_{n:02}",
                client_id=f"load-{n}",
                token_service_url=server.url,
                status=Status.DEPLOYED,
                access_token=f"AT-start-{n}",
                refresh_token=f"RT-{n}",
                access_token_expires_at=timezone.now() + timedelta(hours=1),
            )
            for n in range(ARTIFACTS)
        ]
        _, secret = ApiToken.create("load")

        def fetch() -> str:
            consumer = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")  # one per call: threads
            name = random.choice(artifacts).name  # noqa: S311
            return str(consumer.get(f"/api/v1/security-material/{name}/access-token").status_code)

        def rotate_one() -> str:
            return refresh.refresh_artifact(random.choice(artifacts).pk, force=True).action  # noqa: S311

        stop = threading.Event()
        answers: Counter[str] = Counter()
        refreshes: Counter[str] = Counter()
        threads = [
            threading.Thread(target=in_a_loop, args=(stop, fetch, answers)),
            threading.Thread(target=in_a_loop, args=(stop, fetch, answers)),
            threading.Thread(target=in_a_loop, args=(stop, rotate_one, refreshes)),
        ]
        for thread in threads:
            thread.start()
        try:
            new_key = Fernet.generate_key().decode()
            settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]  # the new key in front
            out = StringIO()
            call_command("rotate_keys", "--batch", "7", stdout=out)
            settings.SECURITY_MATERIAL_KEYS = [new_key]  # the old key gone: a restart
            for _ in range(30):  # and traffic under the new key alone, from here too
                answers[fetch()] += 1
                refreshes[rotate_one()] += 1
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    assert "Done:" in out.getvalue()
    assert set(answers) == {"200"}, answers
    assert set(refreshes) == {"refreshed"}, refreshes
    assert sum(answers.values()) > 50 and sum(refreshes.values()) > 10
    call_command("check", "--database", "default")  # every stored secret decrypts
    for artifact in OAuth2AuthorizationCode.objects.all():
        assert artifact.refresh_token.startswith("RT-")
