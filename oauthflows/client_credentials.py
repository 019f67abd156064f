"""Tokens of OAuth2 Client Credentials artifacts: fetched on demand, one request at a time.

The row lock makes the fetch single-flight: of many consumers that find the token too
old, the first fetches and the rest, once the lock is theirs, find the new token. After a
failure consumers wait RETRY_AFTER_FAILURE (or the provider's Retry-After) before the
provider is asked again; a configuration error waits for an edit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from oauthflows import client
from oauthflows.outcomes import TokenOutcome
from securitymaterial.models import (
    AuditEntry,
    ErrorKind,
    OAuth2ClientCredentials,
    RequestBodyFormat,
)

logger = logging.getLogger(__name__)


@sensitive_variables()
def fetch_token(
    pk: int, *, unless_valid_for: timedelta | None = None, user: object = None
) -> TokenOutcome:
    """Request a new token and store it, under the artifact's row lock.

    With `unless_valid_for`, a token that stays valid that long (stored meanwhile by
    another consumer) is kept, and a provider that just failed is not asked again before
    its retry time. Without it (an admin's Fetch Token), the request always goes out.
    Failures are stored on the artifact, never raised; the outcome says what happened, as
    the refresh service's does.
    """
    with OAuth2ClientCredentials.locked(pk) as artifact:
        now = timezone.now()
        if unless_valid_for is not None:
            if artifact.access_token_valid_for(unless_valid_for, now):
                return TokenOutcome(artifact.name, "skipped", "a valid token is stored")
            if artifact.waiting_after_failure(now):
                return TokenOutcome(artifact.name, "skipped", "waiting after a failure")
            if artifact.needs_person:
                return TokenOutcome(artifact.name, "skipped", "needs a person")
        try:
            result = client.client_credentials_grant(
                artifact.token_service_url,
                client.ClientAuth(
                    client_id=artifact.client_id,
                    client_secret=artifact.client_secret,
                    send_as=artifact.client_authentication,
                ),
                scope=artifact.scope,
                resource=artifact.resource,
                audience=artifact.audience,
                json_body=artifact.content_type == RequestBodyFormat.JSON,
                custom_parameters=tuple(
                    (p["key"], p["value"], p["send_as"]) for p in artifact.custom_parameters
                ),
            )
        except client.TokenError as error:
            kind = (
                ErrorKind.TRANSIENT
                if isinstance(error, client.TransientTokenError)
                else ErrorKind.CONFIGURATION  # no person can "authorize" a client's own grant
            )
            retry_after = getattr(error, "retry_after", None)
            artifact.record_failure(error.message, kind, retry_after, now)
            artifact.save()
            AuditEntry.record(
                artifact, AuditEntry.Action.TOKEN_FETCH_FAILED, user, detail=error.message
            )
            logger.warning("token request of %s failed: %s", artifact.name, error.message)
            action = "retrying" if kind == ErrorKind.TRANSIENT else "needs a person"
            return TokenOutcome(artifact.name, action, error.message)
        artifact.store_token(result, now)
        artifact.save()
        return TokenOutcome(artifact.name, "fetched")
