"""Authorization requests in flight (the server-side half of the `state` parameter), and
consent links that let a mailbox owner authorize without an account here."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

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
    # Who started it: a signed-in user (Authorize), or the owner through a consent link.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    consent_link = models.ForeignKey(
        "ConsentLink", null=True, on_delete=models.CASCADE, related_name="+"
    )
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


CONSENT_LINK_TOKEN_BYTES = 32  # 256 bits


class ConsentLinks(models.Manager["ConsentLink"]):
    def outstanding(self) -> ConsentLink | None:
        """The usable link among these (an artifact's: `artifact.consent_links`), if any."""
        link = self.filter(ended_at__isnull=True).select_related("artifact").first()
        return link if link is not None and link.usable(timezone.now()) else None


class ConsentLink(models.Model):
    """A link the mailbox owner opens to sign in at the provider and consent, without an
    account here (oauthflows.consent). Its token is kept only as a hash; it is single use,
    one per artifact at a time, and bound to the artifact's authorization settings: an
    edit of what the tokens depend on ends it."""

    class End(models.TextChoices):
        USED = "used", "used"
        REVOKED = "revoked", "revoked"
        REPLACED = "replaced", "replaced by a new link"

    token_hash = models.CharField(max_length=64, unique=True)
    artifact = models.ForeignKey(
        "securitymaterial.OAuth2AuthorizationCode",
        on_delete=models.CASCADE,
        related_name="consent_links",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)  # a person, or an API token
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    artifact_fingerprint = models.CharField(max_length=64)
    opened_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended = models.CharField(max_length=16, choices=End.choices, blank=True)

    objects = ConsentLinks()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["artifact"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_consent_link_per_artifact",
            )
        ]

    def __str__(self) -> str:
        return f"consent link of artifact {self.artifact_id}"

    def usable(self, now: datetime) -> bool:
        """Not ended, not expired, and the artifact's settings as they were."""
        return (
            self.ended_at is None
            and now < self.expires_at
            and self.artifact_fingerprint == self.artifact.authorization_fingerprint()
        )

    def end(self, why: str, now: datetime) -> None:
        self.ended, self.ended_at = why, now
        self.save(update_fields=["ended", "ended_at"])
