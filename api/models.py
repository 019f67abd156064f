"""API tokens: how integrations prove who they are to the consumer API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from securitymaterial import validators
from securitymaterial.models import AuditEntry, Runtime

PREFIX = "smt_"


def token_hash(token: str) -> str:
    """A keyed hash: 256 random bits need no slow hash, and without SECRET_KEY a database
    dump gives nothing to try offline. (Rotating DJANGO_SECRET_KEY invalidates API tokens.)"""
    key = hmac.new(settings.SECRET_KEY.encode(), b"api-token", hashlib.sha256).digest()
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


class ApiToken(models.Model):
    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # Limits: blank means any runtime; an empty list means any artifact.
    runtime = models.CharField(max_length=16, choices=Runtime.choices, blank=True)
    artifact_names = models.JSONField(default=list, blank=True)
    # Two grants, chosen at creation: fetching tokens and secrets (the consumer endpoints),
    # and the management API (create, change, delete artifacts), which calls secrets
    # write-only. A token that may manage reads no secret unless it may consume too, and an
    # integration's token cannot rewrite the catalogue.
    can_consume = models.BooleanField(default=True)
    can_manage = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def create(
        cls,
        name: str,
        user: Any = None,
        *,
        runtime: str = "",
        artifact_names: list[str] | None = None,
        can_consume: bool = True,
        can_manage: bool = False,
    ) -> tuple[ApiToken, str]:
        """A new token; the secret is returned once and only its hash is stored."""
        secret = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            token_hash=token_hash(secret),
            runtime=runtime,
            artifact_names=sorted(set(artifact_names or [])),
            can_consume=can_consume,
            can_manage=can_manage,
            created_by=user,
        )
        AuditEntry.record_api_token(AuditEntry.Action.API_TOKEN_CREATED, name, user)
        return token, secret

    @classmethod
    def new_name(cls, name: str) -> str:
        """The name a new token may take, or ValidationError: the artifact names' characters
        after NFKC (so a full-width or ligature look-alike becomes what it looks like), and
        unique in any case, so the audit trail names one token."""
        name = unicodedata.normalize("NFKC", name)
        if not 1 <= len(name) <= 100:
            raise ValidationError("Enter a name of 1 to 100 characters.")
        if not validators.NAME_RE.fullmatch(name) or not name.strip("."):
            raise ValidationError(
                "Use only letters, digits, underscore (_), hyphen (-) and dot (.), and not "
                "dots alone; the audit trail names the token by it."
            )
        if cls.objects.filter(name__iexact=name).exists():
            raise ValidationError(f"An API token named “{name}” exists already (in any case).")
        return name

    @property
    def grants(self) -> str:
        """What it may do, in the words of the API Tokens page."""
        return " and ".join(
            label
            for granted, label in (
                (self.can_consume, "fetches tokens and secrets"),
                (self.can_manage, "manages artifacts"),
            )
            if granted
        ).capitalize()

    @staticmethod
    def plausible(secret: str) -> bool:
        """Could be one of ours: anything else is refused without a query."""
        return secret.startswith(PREFIX) and len(secret) <= 100

    @classmethod
    def authenticate(cls, secret: str) -> ApiToken | None:
        if not cls.plausible(secret):
            return None
        try:  # get(): no ORDER BY on the hot path
            token = cls.objects.get(token_hash=token_hash(secret), revoked_at=None)
        except cls.DoesNotExist:
            return None
        token.mark_used(timezone.now())
        return token

    def mark_used(self, now: datetime) -> None:
        """ "Last used" to the minute: no write on every call of the token API's hot path."""
        if self.last_used_at is None or now - self.last_used_at >= timedelta(minutes=1):
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)

    def allows(self, runtime: str, name: str) -> bool:
        """Checked before the artifact is looked up: a limited token cannot even learn
        which other names exist."""
        if self.runtime and runtime != self.runtime:
            return False
        names = {allowed.lower() for allowed in self.artifact_names}
        return not names or name.lower() in names

    def revoke(self, user: Any = None) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
            AuditEntry.record_api_token(AuditEntry.Action.API_TOKEN_REVOKED, self.name, user)
