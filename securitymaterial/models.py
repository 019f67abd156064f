"""The artifact catalogue: OAuth2 Authorization Code credentials and their audit trail."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models
from django.db.models import F
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


class ErrorKind(models.TextChoices):
    TRANSIENT = "transient", "retrying"
    REAUTHORIZE = "reauthorize", "re-authorization required"
    CONFIGURATION = "configuration", "configuration error"


class SendAs(models.TextChoices):
    BODY = "body", "Body Parameter"  # client_secret_post
    BASIC = "basic", "Basic Auth Header"  # client_secret_basic, RFC 6749 §2.3.1


PROVIDER_CHOICES = [(provider.id, provider.label) for provider in PROVIDERS.values()]


class OAuth2AuthorizationCode(models.Model):
    type_label = "OAuth2 Authorization Code"
    holds_secrets = True  # error reports show it by id only (securitymaterial.debug)
    NEEDS_PERSON = models.Q(status=Status.ERROR) & ~models.Q(error_kind=ErrorKind.TRANSIENT)

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

    # Keeping it alive (oauthflows.refresh). next_refresh_at is the indexed "when must a
    # worker look at it next" that beat selects by; None means nothing to do.
    next_refresh_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)  # by a consumer
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_result = models.CharField(max_length=1000, blank=True)
    attempts_since_success = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure since success
    error_kind = models.CharField(max_length=16, choices=ErrorKind.choices, blank=True)

    class Meta:
        verbose_name = "OAuth2 Authorization Code"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["runtime", "name"], name="unique_name_per_runtime"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def lock(cls, pk: int) -> OAuth2AuthorizationCode:
        """The row, locked until the surrounding transaction ends, read after the lock.

        Everything that writes tokens takes it, so a rotated refresh token is never
        overwritten by a stale copy. PostgreSQL (and other databases with row locks):
        SELECT ... FOR UPDATE. SQLite has no row locks; an UPDATE takes its database write
        lock, which serialises the same way.
        """
        if not connection.in_atomic_block:
            raise RuntimeError("lock() needs transaction.atomic()")
        if not connection.features.has_select_for_update:
            cls.objects.filter(pk=pk).update(attempts_since_success=F("attempts_since_success"))
        return cls.objects.select_for_update().get(pk=pk)

    @property
    def provider_class(self) -> type[Provider]:
        return PROVIDERS[self.provider]

    @property
    def status_hint(self) -> str:
        """The second line under the status: why, and what to do."""
        if self.status == Status.UNAUTHORIZED:
            return self.status_reason or "Choose Authorize to sign in and consent"
        if self.status == Status.ERROR and self.error_kind:
            return f"{ErrorKind(self.error_kind).label.capitalize()}: {self.status_reason}"
        return self.status_reason

    @property
    def needs_person(self) -> bool:
        """Nothing will fix it by itself: someone must authorize or correct the settings.
        NEEDS_PERSON below is the same rule as a database filter."""
        return self.status == Status.ERROR and self.error_kind != ErrorKind.TRANSIENT

    @property
    def refresh_token_expires_at(self) -> datetime | None:
        if self.refresh_token_renewed_at is None or self.refresh_token_expiry_days is None:
            return None
        return self.refresh_token_renewed_at + timedelta(days=self.refresh_token_expiry_days)

    def refresh_token_renewal_due_at(self) -> datetime | None:
        """Renew at a fraction of Refresh Token Expiry, and never later than a set number
        of days before it (the platform we mimic asks for 2)."""
        if self.refresh_token_renewed_at is None or self.refresh_token_expiry_days is None:
            return None
        lifetime = timedelta(days=self.refresh_token_expiry_days)
        latest = lifetime - timedelta(days=settings.REFRESH_TOKEN_LATEST_DAYS_BEFORE_EXPIRY)
        after = min(lifetime * settings.REFRESH_TOKEN_RENEWAL_FRACTION, latest)
        return self.refresh_token_renewed_at + max(after, timedelta(0))

    def access_token_valid_for(self, margin: timedelta, now: datetime) -> bool:
        """The stored access token stays valid longer than `margin`. A provider that gave
        no expiry is taken at its word: the token is used until it is refused."""
        if not self.access_token:
            return False
        return self.access_token_expires_at is None or self.access_token_expires_at - now > margin

    def access_token_margin(self, wanted_seconds: int) -> timedelta:
        """How long a consumer's token must stay valid: what it asks for, capped at half the
        lifetime the provider gave the token, so short-lived tokens are not refreshed on
        every call."""
        wanted = timedelta(seconds=max(wanted_seconds, 0))
        if self.access_token_expires_at is None or self.refresh_token_renewed_at is None:
            return wanted
        # Both are set from the same moment when a token response is stored.
        lifetime = self.access_token_expires_at - self.refresh_token_renewed_at
        return min(wanted, lifetime / 2)

    def in_use(self, now: datetime) -> bool:
        window = timedelta(hours=settings.ACCESS_TOKEN_IN_USE_HOURS)
        return self.last_used_at is not None and now - self.last_used_at < window

    def compute_next_refresh(self, now: datetime) -> datetime | None:
        """When a worker must refresh next: the earliest of a due retry, the refresh token's
        renewal, and (for artifacts consumers use) the access token's expiry less a margin."""
        if self.status == Status.UNAUTHORIZED or self.needs_person or not self.refresh_token:
            return None
        if self.error_kind == ErrorKind.TRANSIENT and self.retry_at is not None:
            return self.retry_at
        candidates = [self.refresh_token_renewal_due_at()]
        if self.access_token_expires_at is not None and self.in_use(now):
            margin = timedelta(seconds=settings.ACCESS_TOKEN_REFRESH_MARGIN)
            candidates.append(self.access_token_expires_at - margin)
        due = [when for when in candidates if when is not None]
        return min(due) if due else None

    def refresh_due(self, now: datetime) -> bool:
        when = self.compute_next_refresh(now)
        return when is not None and when <= now

    def reschedule(self, now: datetime) -> None:
        self.next_refresh_at = self.compute_next_refresh(now)

    # Consumers may ask many times a second; "in use" is measured in hours.
    USE_RECORDED_EVERY = timedelta(minutes=1)

    def mark_used(self, now: datetime) -> None:
        """A consumer fetched a token. An artifact that was idle now also gets its access
        token refreshed ahead of expiry, so its schedule changes. Written at most once a
        minute: the token API's hot path need not write on every call."""
        if self.last_used_at is not None and now - self.last_used_at < self.USE_RECORDED_EVERY:
            return
        was_in_use = self.in_use(now)
        self.last_used_at = now
        fields = ["last_used_at"]
        if not was_in_use:
            self.reschedule(now)
            fields.append("next_refresh_at")
        self.save(update_fields=fields)

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
        self.authorized_account = result.account_name
        self.authorized_by = by
        self.authorized_at = now
        self.record_refresh(result, now)
        self.last_attempt_result = "Authorized"

    def record_refresh(self, result: TokenResult, now: datetime) -> None:
        """A successful token response. A rotated refresh token replaces the old one (RFC
        6749 §6); without one the old one stays. Either way it just proved to work, which
        restarts an inactivity expiry such as Microsoft's."""
        self.access_token = result.access_token
        if result.refresh_token:
            self.refresh_token = result.refresh_token
        self.access_token_expires_at = (
            now + timedelta(seconds=result.expires_in) if result.expires_in else None
        )
        self.refresh_token_renewed_at = now
        if result.scope is not None:
            self.token_scope = result.scope
        self.status = Status.DEPLOYED
        self.status_reason = ""
        self.error_kind = ""
        self.retry_at = None
        self.attempts_since_success = 0
        self.failing_since = None
        self.last_attempt_at = now
        self.last_attempt_result = "Refreshed"
        self.reschedule(now)

    def record_transient_failure(
        self, message: str, retry_after: float | None, now: datetime
    ) -> bool:
        """Keep the tokens, retry with capped exponential backoff and full jitter, never
        sooner than the provider's Retry-After.

        Returns True once per outage, when it has lasted REFRESH_ALERT_AFTER_HOURS: time to
        tell a person, while retrying goes on.
        """
        previous = self._start_failing(now)
        self.attempts_since_success += 1
        ceiling = min(
            settings.REFRESH_RETRY_MAX_SECONDS,
            settings.REFRESH_RETRY_BASE_SECONDS * 2 ** (self.attempts_since_success - 1),
        )
        delay = max(random.uniform(ceiling / 2, ceiling), retry_after or 0)  # noqa: S311
        self.retry_at = now + timedelta(seconds=min(delay, 24 * 3600))
        self.error_kind = ErrorKind.TRANSIENT
        self.status = Status.ERROR
        self.status_reason = f"{message} Next attempt at {self.retry_at:%Y-%m-%d %H:%M:%S} UTC."
        self.last_attempt_at = now
        self.last_attempt_result = message[:1000]
        self.reschedule(now)
        alert_after = timedelta(hours=settings.REFRESH_ALERT_AFTER_HOURS)
        assert self.failing_since is not None
        return previous - self.failing_since < alert_after <= now - self.failing_since

    def _start_failing(self, now: datetime) -> datetime:
        """Mark the start of an outage; return when the previous attempt was."""
        if self.failing_since is None:
            self.failing_since = now
            return now
        return self.last_attempt_at or now

    def record_permanent_failure(self, message: str, kind: str, now: datetime) -> None:
        """No more attempts until a person acts; the tokens are kept for the record of it."""
        self._start_failing(now)
        self.attempts_since_success += 1
        self.error_kind = kind
        self.status = Status.ERROR
        advice = (
            "Choose Authorize to sign in again."
            if kind == ErrorKind.REAUTHORIZE
            else "Correct the artifact with Edit, then choose Authorize."
        )
        self.status_reason = f"{message} {advice}"[:1000]
        self.retry_at = None
        self.last_attempt_at = now
        self.last_attempt_result = message[:1000]
        self.reschedule(now)

    def forget_tokens(self) -> None:
        self.access_token = ""
        self.refresh_token = ""
        self.access_token_expires_at = None
        self.refresh_token_renewed_at = None
        self.token_scope = ""
        self.authorized_account = ""
        self.next_refresh_at = None
        self.retry_at = None
        self.error_kind = ""

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
        REFRESH_FAILED = "refresh_failed", "Refresh failed"
        AUTHORIZATION_FAILED = "authorization_failed", "Authorization failed"
        TOKEN_ISSUED = "token_issued", "Access token issued"
        API_TOKEN_CREATED = "api_token_created", "API token created"
        API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"

    artifact = models.ForeignKey(
        OAuth2AuthorizationCode,
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    # Kept as text so the trail survives the deletion of the artifact or the user. Both are
    # blank for entries about API tokens, which belong to no artifact.
    runtime = models.CharField(max_length=16, choices=Runtime.choices, blank=True)
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

    @classmethod
    def record(
        cls,
        artifact: OAuth2AuthorizationCode,
        action: str,
        user: Any = None,
        *,
        changes: list[dict[str, Any]] | None = None,
        detail: str = "",
    ) -> AuditEntry:
        """Write one entry; without a user, the service itself acted."""
        return cls.objects.create(
            # A deleted artifact's entry keeps only its name.
            artifact=None if action == cls.Action.DELETED else artifact,
            runtime=artifact.runtime,
            artifact_name=artifact.name,
            action=action,
            actor=user,
            actor_name=user.get_username() if user is not None else "refresh service",
            changes=changes or [],
            detail=detail[:1000],
        )

    @classmethod
    def record_api_token(cls, action: str, token_name: str, user: Any = None) -> AuditEntry:
        """API tokens are created and revoked outside any artifact; never the token itself."""
        return cls.objects.create(
            action=action,
            actor=user,
            actor_name=user.get_username() if user is not None else "manage.py",
            detail=f"API token “{token_name}”"[:1000],
        )
