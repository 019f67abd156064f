"""Access tokens for consumers: the service the `access_token` command (and the API) call.

A token that expires within what the consumer asks for is refreshed first, through the
same locked refresh service as beat, so concurrent consumers cause one token request. A
failed refresh updates the artifact exactly as beat's would; the consumer still gets the
old token while it is valid.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from oauthflows import client_credentials, refresh
from securitymaterial import usage
from securitymaterial.models import (
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    Status,
)
from smclient import xoauth2

TokenHolder = OAuth2AuthorizationCode | OAuth2ClientCredentials


class TokenUnavailable(Exception):
    """No valid access token can be handed out. `message` is plain words for the admin or
    the integration's log; `needs_person` tells "someone must act" from "try again later"."""

    def __init__(self, message: str, *, needs_person: bool, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.needs_person = needs_person
        self.retry_after = retry_after


@dataclass(frozen=True)
class IssuedToken:
    holds_secrets = True
    access_token: str = field(repr=False)
    expires_at: datetime | None
    scope: str
    user_name: str
    lifetime: timedelta | None = None  # as the provider gave it, if it said
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret

    @property
    def sasl_xoauth2(self) -> str:
        """The SASL XOAUTH2 initial response, base64: what SMTP AUTH and IMAP AUTHENTICATE
        send (developers.google.com/gmail/imap/xoauth2-protocol; Microsoft uses the same)."""
        raw = xoauth2(self.user_name, self.access_token)
        return base64.b64encode(raw.encode("utf-8")).decode("ascii")


@sensitive_variables()
def issue(artifact: TokenHolder, *, min_valid_seconds: int = 300, via: str) -> IssuedToken:
    """A valid access token of the artifact, refreshed (or, for client credentials,
    fetched) first if it expires too soon. `via` names who asked, for the audit trail
    (never a token)."""
    if isinstance(artifact, OAuth2AuthorizationCode):
        _require_authorized(artifact)
    elif artifact.needs_person:
        raise _unavailable(artifact)
    margin = artifact.access_token_margin(min_valid_seconds)
    if not artifact.access_token_valid_for(margin, timezone.now()):
        artifact = _renew(artifact, margin)
        if not artifact.access_token_valid_for(timedelta(0), timezone.now()):
            raise _unavailable(artifact)
    # Who uses it, at most once a minute per artifact (with its use): a consumer asking
    # many times a second must not write an audit row per call.
    usage.record(artifact, timezone.now(), via)
    return IssuedToken(
        access_token=artifact.access_token,
        expires_at=artifact.access_token_expires_at,
        scope=artifact.token_scope or artifact.scope,
        user_name=getattr(artifact, "user_name", ""),
        lifetime=artifact.access_token_lifetime,
    )


def _renew(artifact: TokenHolder, margin: timedelta) -> TokenHolder:
    """Through the locked services, so concurrent consumers cause one token request."""
    if isinstance(artifact, OAuth2ClientCredentials):
        client_credentials.fetch_token(artifact.pk, unless_valid_for=margin)
    else:
        refresh.refresh_artifact(artifact.pk, unless_valid_for=margin)
    return type(artifact).objects.get(pk=artifact.pk)


def _require_authorized(artifact: OAuth2AuthorizationCode) -> None:
    if artifact.status == Status.UNAUTHORIZED or not artifact.refresh_token:
        raise TokenUnavailable(
            f"{artifact.name} is not authorized: an admin must choose Authorize on it first.",
            needs_person=True,
        )
    if artifact.needs_person:
        raise _unavailable(artifact)


def _unavailable(artifact: TokenHolder) -> TokenUnavailable:
    if artifact.needs_person or artifact.status == Status.UNAUTHORIZED:
        return TokenUnavailable(
            f"{artifact.name} needs an admin: {artifact.status_hint}", needs_person=True
        )
    wait = None
    if artifact.retry_at is not None:
        wait = max(1, math.ceil((artifact.retry_at - timezone.now()).total_seconds()))
    return TokenUnavailable(
        f"{artifact.name} has no valid access token right now: {artifact.status_hint}",
        needs_person=False,
        retry_after=wait,
    )
