"""OAuth2 Authorization Code: a credential an admin authorizes once in the browser; the
service then keeps its tokens alive (oauthflows acts on it)."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

import oauthproviders
from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField
from securitymaterial.models.catalogue import Artifact, ArtifactType, ErrorKind, Status
from securitymaterial.models.tokens import ClientAuthentication, HeldAccessToken, TokenResponse

REAUTHORIZE_AFTER_EDIT = "Changed since the last authorization: choose Authorize to sign in again."


class OAuth2AuthorizationCode(HeldAccessToken, Artifact):
    KIND = ArtifactType.OAUTH2_AUTHORIZATION_CODE
    INITIAL_STATUS = Status.UNAUTHORIZED

    provider = models.CharField(max_length=32, choices=oauthproviders.choices)
    tenant = models.CharField(max_length=255, blank=True)
    authorization_url = models.CharField(max_length=2000)
    token_service_url = models.CharField(max_length=2000)
    refresh_token_expiry_days = models.PositiveSmallIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    send_as = models.CharField(
        max_length=8, choices=ClientAuthentication.choices, default=ClientAuthentication.BODY
    )
    user_name = models.CharField(max_length=254, blank=True)
    scope = models.CharField(max_length=2000, blank=True)
    use_pkce = models.BooleanField(default=True)

    # Tokens: only ever through the encrypted field (the access token: HeldAccessToken).
    refresh_token = EncryptedTextField()
    refresh_token_renewed_at = models.DateTimeField(null=True, blank=True)
    authorized_account = models.CharField(max_length=254, blank=True)  # from the id_token
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    authorized_at = models.DateTimeField(null=True, blank=True)

    # Keeping it alive (oauthflows.refresh). next_refresh_at is the indexed "when must a
    # worker look at it next" that beat selects by; None means nothing to do.
    next_refresh_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Handed to a worker by beat in this dispatch round, at that time, and not yet taken
    # off the queue (oauthflows.refresh.dispatch_due); None otherwise.
    dispatched_round = models.BigIntegerField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    attempts_since_success = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure since success
    # The token-health timeline (securitymaterial.timeline): per UTC day of the last
    # HISTORY_DAYS, [refreshes done, refreshes failed, why the last one failed].
    refresh_days = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "OAuth2 Authorization Code"

    @property
    def provider_label(self) -> str:
        return oauthproviders.label(self.provider)

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

    @property
    def access_token_issued_at(self) -> datetime | None:
        # Access and refresh token are stored from the same token response.
        return self.refresh_token_renewed_at

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
        """When a worker must look at it next; a task beat handed out for it is done."""
        self.next_refresh_at = self.compute_next_refresh(now)
        self.dispatched_round = self.dispatched_at = None

    def mark_used(self, now: datetime) -> bool:
        """A consumer fetched a token. An artifact that was idle now also gets its access
        token refreshed ahead of expiry, so its schedule changes. Written at most once a
        minute, as Artifact.mark_used."""
        if self.last_used_at is not None and now - self.last_used_at < self.USE_RECORDED_EVERY:
            return False
        was_in_use = self.in_use(now)
        self.last_used_at = now
        fields = ["last_used_at"]
        if not was_in_use:
            self.reschedule(now)
            fields.append("next_refresh_at")
        self.save(update_fields=fields)
        return True

    def use_moves_schedule(self, now: datetime) -> bool:
        return not self.in_use(now)  # an idle artifact's token is refreshed ahead once used

    @property
    def awaits_consent(self) -> bool:
        """Someone must sign in and consent: Unauthorized, or in Error until they do."""
        return self.status == Status.UNAUTHORIZED or self.needs_person

    @property
    def account_differs(self) -> bool:
        """The account that consented is not the configured User Name."""
        return self.is_other_account(self.authorized_account)

    def is_other_account(self, account: str) -> bool:
        """Whether `account` (from an id_token) is known and not the User Name."""
        return bool(account and self.user_name and account.lower() != self.user_name.lower())

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

    def store_tokens(self, result: TokenResponse, by: Any) -> None:
        """Keep the tokens of a successful code exchange; the credential is usable."""
        now = timezone.now()
        self.authorized_account = result.account_name
        self.authorized_by = by
        self.authorized_at = now
        self.record_refresh(result, now)
        self.last_attempt_result = "Authorized"

    def record_refresh(self, result: TokenResponse, now: datetime) -> None:
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

    HISTORY_DAYS = 90

    def note_refresh(self, now: datetime, failure: str = "") -> None:
        """A refresh that asked the provider, done or failed (and why), in today's count;
        days older than HISTORY_DAYS go."""
        today = now.astimezone(UTC).date()
        oldest = (today - timedelta(days=self.HISTORY_DAYS - 1)).isoformat()
        days = {day: counts for day, counts in self.refresh_days.items() if day >= oldest}
        done, failed, why = days.get(today.isoformat(), [0, 0, ""])
        if failure:
            failed, why = failed + 1, failure[:300]
        else:
            done += 1
        days[today.isoformat()] = [done, failed, why]
        self.refresh_days = days

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

    def settings_changed(self) -> None:
        if self.status != Status.UNAUTHORIZED:
            self.mark_unauthorized(REAUTHORIZE_AFTER_EDIT)

    def mark_unauthorized(self, reason: str = "") -> None:
        self.forget_tokens()
        self.status = Status.UNAUTHORIZED
        self.status_reason = reason

    @property
    def client_secret_fingerprint(self) -> str:
        """Tells an admin whether the secret changed without ever showing it."""
        return crypto.fingerprint(self.client_secret) if self.client_secret else ""
