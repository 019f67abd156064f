"""What the two OAuth types share: an encrypted access token and when it stops being valid."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from django.db import models

from securitymaterial.fields import EncryptedTextField


class ClientAuthentication(models.TextChoices):
    """How the client's ID and secret reach the token endpoint (RFC 6749 §2.3.1), for both
    OAuth types. Each type's form words the choices as the platform does."""

    BODY = "body", "Body Parameter"  # client_secret_post
    BASIC = "basic", "Basic Auth Header"  # client_secret_basic


class TokenResponse(Protocol):
    """A successful token endpoint answer, as oauthflows.client parses it (RFC 6749 §5.1)."""

    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def expires_in(self) -> int | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def account_name(self) -> str: ...


class HeldAccessToken(models.Model):
    access_token = EncryptedTextField()
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    token_scope = models.CharField(max_length=2000, blank=True)  # as the provider echoed it
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_result = models.CharField(max_length=1000, blank=True)

    class Meta:
        abstract = True

    @property
    def access_token_issued_at(self) -> datetime | None:
        raise NotImplementedError

    def access_token_valid_for(self, margin: timedelta, now: datetime) -> bool:
        """The stored access token stays valid longer than `margin`. A provider that gave
        no expiry is taken at its word: the token is used until it is refused."""
        if not self.access_token:
            return False
        return self.access_token_expires_at is None or self.access_token_expires_at - now > margin

    @property
    def access_token_lifetime(self) -> timedelta | None:
        """How long the provider made the stored access token valid, if it said."""
        issued_at = self.access_token_issued_at
        if self.access_token_expires_at is None or issued_at is None:
            return None
        return self.access_token_expires_at - issued_at

    def access_token_margin(self, wanted_seconds: int) -> timedelta:
        return token_margin(wanted_seconds, self.access_token_lifetime)


def token_margin(wanted_seconds: int, lifetime: timedelta | None) -> timedelta:
    """How long a consumer's token must stay valid: what it asks for, capped at half the
    lifetime the provider gave the token, so short-lived tokens are not fetched again on
    every call (the refresh loop the platform we mimic warns of under 10 minutes)."""
    wanted = timedelta(seconds=max(wanted_seconds, 0))
    return wanted if lifetime is None else min(wanted, lifetime / 2)
