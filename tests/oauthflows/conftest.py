from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from securitymaterial.models import OAuth2AuthorizationCode, Status


def start(client: Client, artifact: Any) -> dict[str, str]:
    """Choose Authorize; return the authorization request's query parameters."""
    response = client.post(reverse("securitymaterial:authorize", args=[artifact.pk]))
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
