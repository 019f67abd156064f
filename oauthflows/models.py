"""Authorization requests in flight: the server-side half of the `state` parameter."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from securitymaterial.fields import EncryptedTextField

STATE_LIFETIME = timedelta(minutes=10)


def digest(value: str) -> str:
    """State values and session keys are kept only as hashes: a database reader cannot
    replay a flow or learn a session."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class AuthorizationState(models.Model):
    """One authorization request: single use, bound to the admin's session and user and to
    the artifact (RFC 6749 §10.12, RFC 9700 §2.1). Valid 10 minutes."""

    holds_secrets = True  # the PKCE verifier

    state_hash = models.CharField(max_length=64, unique=True)
    artifact = models.ForeignKey(
        "securitymaterial.OAuth2AuthorizationCode", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_hash = models.CharField(max_length=64)
    code_verifier = EncryptedTextField()  # RFC 7636; blank when PKCE is off
    # Exactly what the authorization request used: the callback takes the token endpoint
    # and redirect URI from here, never from request input (mix-up defence, RFC 9700 §4.4).
    redirect_uri = models.CharField(max_length=2000)
    token_service_url = models.CharField(max_length=2000)
    artifact_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"authorization of artifact {self.artifact_id}"

    @property
    def expired(self) -> bool:
        return timezone.now() >= self.expires_at


class RefreshDispatch(models.Model):
    """Beat's dispatch rounds and how far the workers got, one row for all beats and workers
    (oauthflows.refresh.dispatch_due). The queue is first in, first out: once a worker
    starts a task of round N, every task of an earlier round has left the queue."""

    ONE = 1

    round = models.BigIntegerField(default=0)  # the last round beat dispatched
    started_round = models.BigIntegerField(default=0)  # the latest round a worker started
    started_at = models.DateTimeField(null=True, blank=True)  # when a worker last started one
    handed_out = models.BigIntegerField(default=0)  # artifacts in all rounds, duplicates too

    def __str__(self) -> str:
        return f"dispatch round {self.round}, started {self.started_round}"
