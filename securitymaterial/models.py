"""The artifact catalogue: OAuth2 Authorization Code credentials and their audit trail."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from oauthflows.providers import PROVIDERS, Provider
from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField

if TYPE_CHECKING:
    from oauthflows.client import TokenResult


class Runtime(models.TextChoices):
    CLOUD = "cloud", "Cloud Integration"
    EDGE = "edge", "Edge Integration Cell"


class Status(models.TextChoices):
    # The words of the platform we mimic.
    STORED = "stored", "Stored"
    DEPLOYED = "deployed", "Deployed"
    ERROR = "error", "Error"
    UNAUTHORIZED = "unauthorized", "Unauthorized"


class SendAs(models.TextChoices):
    BODY = "body", "Body Parameter"  # client_secret_post
    BASIC = "basic", "Basic Auth Header"  # client_secret_basic, RFC 6749 §2.3.1


PROVIDER_CHOICES = [(provider.id, provider.label) for provider in PROVIDERS.values()]


class OAuth2AuthorizationCode(models.Model):
    type_label = "OAuth2 Authorization Code"

    runtime = models.CharField(max_length=16, choices=Runtime.choices, default=Runtime.CLOUD)
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True, max_length=1000)
    provider = models.CharField(max_length=32, choices=PROVIDER_CHOICES)
    tenant = models.CharField(max_length=255, blank=True)
    authorization_url = models.CharField(max_length=2000)
    token_service_url = models.CharField(max_length=2000)
    refresh_token_expiry_days = models.PositiveSmallIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    send_as = models.CharField(max_length=8, choices=SendAs.choices, default=SendAs.BODY)
    user_name = models.CharField(max_length=254, blank=True)
    scope = models.CharField(max_length=2000, blank=True)
    use_pkce = models.BooleanField(default=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNAUTHORIZED)
    # Why the status is what it is, in plain words (the second line under the status).
    status_reason = models.CharField(max_length=1000, blank=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployed_on = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    # Tokens: only ever through the encrypted field.
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_renewed_at = models.DateTimeField(null=True, blank=True)
    token_scope = models.CharField(max_length=2000, blank=True)  # as the provider echoed it
    authorized_account = models.CharField(max_length=254, blank=True)  # from the id_token
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    authorized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth2 Authorization Code"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["runtime", "name"], name="unique_name_per_runtime"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def provider_class(self) -> type[Provider]:
        return PROVIDERS[self.provider]

    @property
    def status_hint(self) -> str:
        """The second line under the status: why, and what to do."""
        if self.status == Status.UNAUTHORIZED:
            return self.status_reason or "Choose Authorize to sign in and consent"
        return self.status_reason

    @property
    def account_differs(self) -> bool:
        """The account that consented is not the configured User Name."""
        return bool(
            self.authorized_account
            and self.user_name
            and self.authorized_account.lower() != self.user_name.lower()
        )

    # Fields whose change invalidates the tokens: another client, secret, scope or server.
    AUTHORIZATION_FIELDS = (
        "client_id",
        "client_secret",
        "scope",
        "authorization_url",
        "token_service_url",
    )

    def authorization_fingerprint(self) -> str:
        """Changes when any setting the tokens depend on changes (keyed, so it reveals
        nothing about the secret)."""
        values = "\0".join(str(getattr(self, name)) for name in self.AUTHORIZATION_FIELDS)
        key = settings.SECRET_KEY.encode()
        return hmac.new(key, values.encode("utf-8"), hashlib.sha256).hexdigest()

    def store_tokens(self, result: TokenResult, by: Any) -> None:
        """Keep the tokens of a successful code exchange; the credential is usable."""
        now = timezone.now()
        self.access_token = result.access_token
        self.refresh_token = result.refresh_token or ""
        self.access_token_expires_at = (
            now + timedelta(seconds=result.expires_in) if result.expires_in else None
        )
        self.refresh_token_renewed_at = now
        self.token_scope = result.scope or ""
        self.authorized_account = result.account_name
        self.authorized_by = by
        self.authorized_at = now
        self.status = Status.DEPLOYED
        self.status_reason = ""

    def forget_tokens(self) -> None:
        self.access_token = ""
        self.refresh_token = ""
        self.access_token_expires_at = None
        self.refresh_token_renewed_at = None
        self.token_scope = ""
        self.authorized_account = ""

    def mark_unauthorized(self, reason: str = "") -> None:
        self.forget_tokens()
        self.status = Status.UNAUTHORIZED
        self.status_reason = reason

    def mark_error(self, reason: str) -> None:
        self.status = Status.ERROR
        self.status_reason = reason[:1000]

    @property
    def client_secret_fingerprint(self) -> str:
        """Tells an admin whether the secret changed without ever showing it."""
        return crypto.fingerprint(self.client_secret) if self.client_secret else ""

    def mark_deployed_by(self, user: Any) -> None:
        self.deployed_by = user
        self.deployed_on = timezone.now()


class AuditEntry(models.Model):
    """Who did what to which artifact, when. Secret values are never recorded."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"
        AUTHORIZED = "authorized", "Authorized"
        AUTHORIZATION_FAILED = "authorization_failed", "Authorization failed"

    artifact = models.ForeignKey(
        OAuth2AuthorizationCode,
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    # Kept as text so the trail survives the deletion of the artifact or the user.
    runtime = models.CharField(max_length=16, choices=Runtime.choices)
    artifact_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # [{"field": label, "from": old, "to": new}] or [{"field": label, "secret": true}]
    changes = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.artifact_name} by {self.actor_name}"
