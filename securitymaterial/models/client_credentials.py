"""OAuth2 Client Credentials (RFC 6749 §4.4): the service fetches tokens on demand with the
client's own credentials and keeps the current one, encrypted, until shortly before it
expires (oauthflows.client_credentials acts on it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db import models

from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField
from securitymaterial.models.catalogue import Artifact, ArtifactType, ErrorKind, Status
from securitymaterial.models.tokens import ClientAuthentication, HeldAccessToken, TokenResponse

MAX_CUSTOM_PARAMETERS = 20
# Set by the service itself; a custom parameter may not override them.
RESERVED_PARAMETER_KEYS = frozenset({"client_id", "client_secret", "grant_type"})
# Headers a custom header may not be: those the service sets itself (requests would drop
# or override Accept and User-Agent silently), and the hop-by-hop and framing headers, which
# would change how the request is carried (RFC 9110 §7.6.1, RFC 9112 §6).
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "content-length",
        "host",
        "accept",
        "user-agent",
        "accept-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)
# Parameters with a field of their own: a custom one would override what the page shows.
FIELD_PARAMETERS = {"scope": "Scope", "resource": "Resource", "audience": "Audience"}
# After a failed token request, consumers wait this long before the next one is tried:
# a provider that is down is not asked once per consumer call.
RETRY_AFTER_FAILURE = timedelta(seconds=30)


# The platform's words for the same choices on this type.
CLIENT_AUTHENTICATION_LABELS = {
    ClientAuthentication.BODY: "Send as Body Parameter",
    ClientAuthentication.BASIC: "Send as Request Header",
}


class RequestBodyFormat(models.TextChoices):
    FORM = "application/x-www-form-urlencoded", "application/x-www-form-urlencoded"
    JSON = "application/json", "application/json"


class SendAsPartOf(models.TextChoices):
    BODY = "body", "Body"
    HEADER = "header", "Header"
    URL = "url", "URL"


class OAuth2ClientCredentials(HeldAccessToken, Artifact):
    KIND = ArtifactType.OAUTH2_CLIENT_CREDENTIALS

    token_service_url = models.CharField(max_length=2000)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    client_authentication = models.CharField(
        max_length=8, choices=ClientAuthentication.choices, default=ClientAuthentication.BODY
    )
    scope = models.CharField(max_length=2000, blank=True)
    content_type = models.CharField(
        max_length=40, choices=RequestBodyFormat.choices, default=RequestBodyFormat.FORM
    )
    resource = models.CharField(max_length=2000, blank=True)
    audience = models.CharField(max_length=2000, blank=True)
    # [{"key", "value", "send_as"}]: encrypted, because admins put API keys in them too.
    custom_parameters_json = EncryptedTextField()

    access_token_fetched_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth2 Client Credentials"
        verbose_name_plural = "OAuth2 Client Credentials"

    @property
    def client_authentication_label(self) -> str:
        return CLIENT_AUTHENTICATION_LABELS.get(
            ClientAuthentication(self.client_authentication), self.client_authentication
        )

    @property
    def access_token_issued_at(self) -> datetime | None:
        return self.access_token_fetched_at

    @property
    def custom_parameters(self) -> list[dict[str, str]]:
        return json.loads(self.custom_parameters_json) if self.custom_parameters_json else []

    @custom_parameters.setter
    def custom_parameters(self, value: list[dict[str, str]]) -> None:
        self.custom_parameters_json = json.dumps(value) if value else ""

    @property
    def client_secret_fingerprint(self) -> str:
        return crypto.fingerprint(self.client_secret) if self.client_secret else ""

    @property
    def status_hint(self) -> str:
        if self.status == Status.STORED and not self.access_token:
            return "No token fetched yet: choose Fetch Token to try the settings now."
        return super().status_hint

    def waiting_after_failure(self, now: datetime) -> bool:
        return self.retry_at is not None and now < self.retry_at

    def settings_changed(self) -> None:
        self.forget_token()

    def forget_token(self) -> None:
        """The settings changed: the token belongs to the old ones."""
        self.access_token = ""
        self.access_token_expires_at = None
        self.access_token_fetched_at = None
        self.token_scope = ""
        self.retry_at = None
        self.status = Status.STORED
        self.status_reason = ""
        self.error_kind = ""

    def store_token(self, result: TokenResponse, now: datetime) -> None:
        self.access_token = result.access_token
        self.access_token_fetched_at = now
        self.access_token_expires_at = (
            now + timedelta(seconds=result.expires_in) if result.expires_in else None
        )
        self.token_scope = result.scope or ""
        self.status = Status.DEPLOYED
        self.status_reason = ""
        self.error_kind = ""
        self.retry_at = None
        self.last_attempt_at = now
        self.last_attempt_result = "Token fetched"

    def record_failure(self, message: str, kind: str, retry_after: float | None, now: Any) -> None:
        """Keep a token that is still valid; say why, and when the next request may go."""
        self.status = Status.ERROR
        self.error_kind = kind
        advice = "" if kind == ErrorKind.TRANSIENT else " Correct the artifact with Edit."
        self.status_reason = f"{message}{advice}"[:1000]
        wait = max(RETRY_AFTER_FAILURE, timedelta(seconds=retry_after or 0))
        self.retry_at = now + min(wait, timedelta(hours=1)) if kind == ErrorKind.TRANSIENT else None
        self.last_attempt_at = now
        self.last_attempt_result = message[:1000]
