"""100 integrations ask at once for a token that is about to expire: the app under
gunicorn (as in production) makes exactly one refresh, counted at the real OAuth server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from django.utils import timezone

from api.models import ApiToken
from securitymaterial.models import OAuth2ClientCredentials, Status
from tests.support.oauth_server import OAuthServer
from tests.support.processes import gunicorn

CLIENTS = 100

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a burst needs PostgreSQL's row locks (CI runs it)"
)


@pytest.fixture
def app_server(tmp_path: Path, transactional_db: None) -> Iterator[str]:
    with gunicorn(tmp_path, "--workers", "3", "--threads", "8") as url:
        yield url


def burst(url: str, secret: str, consumers: int = CLIENTS) -> list[tuple[int, str | None]]:
    """Every consumer asks at the same moment; their answers (status, access token)."""
    barrier, answers = threading.Barrier(consumers), []

    def client() -> None:
        barrier.wait(timeout=60)
        response = requests.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
        answers.append((response.status_code, response.json().get("access_token")))

    threads = [threading.Thread(target=client) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_a_burst_for_an_expiring_token_makes_one_refresh(
    app_server: str, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    oauth_server.register_client(
        "burst", "burst-secret", "http://localhost/oauth2/callback/", auth_method="body"
    )
    now = timezone.now()
    make_artifact(
        name="Busy_Mailer",
        client_id="burst",
        client_secret="burst-secret",
        token_service_url=f"{oauth_server.url}/o/token/",
        status=Status.DEPLOYED,
        access_token="AT-old",
        refresh_token=oauth_server.issue_refresh_token("burst"),
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now - timedelta(minutes=59),
        access_token_expires_at=now + timedelta(seconds=60),
    )
    _, secret = ApiToken.create("burst-clients")
    answers = burst(f"{app_server}/api/v1/security-material/Busy_Mailer/access-token", secret)
    assert len(answers) == CLIENTS
    assert {status for status, _ in answers} == {200}
    tokens = {token for _, token in answers}
    assert len(tokens) == 1 and tokens != {"AT-old"}
    assert oauth_server.refresh_tokens_issued("burst") == 2  # the first one, and one refresh


def test_fifty_consumers_of_a_client_credentials_artifact_cause_one_token_request(
    app_server: str, oauth_server: OAuthServer, db: None
) -> None:
    oauth_server.register_client(
        "cc-burst",
        "cc-burst-secret",
        "http://localhost/unused",
        auth_method="body",
        grant="client-credentials",
    )
    OAuth2ClientCredentials.objects.create(
        name="Busy_Client",
        token_service_url=f"{oauth_server.url}/o/token/",
        client_id="cc-burst",
        client_secret="cc-burst-secret",
        scope="read",
    )
    _, secret = ApiToken.create("cc-burst-clients")
    url = f"{app_server}/api/v1/security-material/Busy_Client/access-token"
    answers = burst(url, secret, consumers=50)
    assert len(answers) == 50
    assert {status for status, _ in answers} == {200}
    assert len({token for _, token in answers}) == 1
    assert oauth_server.access_tokens_issued("cc-burst") == 1
