"""What the API's tests share."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from securitymaterial.models import OAuth2AuthorizationCode, Status


@pytest.fixture
def deployed(make_artifact: Any) -> OAuth2AuthorizationCode:
    """A deployed Authorization Code artifact whose access token is valid for an hour."""
    now = timezone.now()
    artifact: OAuth2AuthorizationCode = make_artifact(
        status=Status.DEPLOYED,
        access_token="AT-live",
        refresh_token="RT-1",
        user_name="mailer@example.com",
        refresh_token_expiry_days=90,
        token_scope="read",
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token_renewed_at=now,
    )
    return artifact


@pytest.fixture
def in_use(deployed: OAuth2AuthorizationCode) -> OAuth2AuthorizationCode:
    """The same, last used an hour ago: a use changes no schedule (securitymaterial.usage)."""
    OAuth2AuthorizationCode.objects.filter(pk=deployed.pk).update(
        last_used_at=timezone.now() - timedelta(hours=1)
    )
    deployed.refresh_from_db()
    return deployed
