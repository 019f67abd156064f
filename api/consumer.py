"""The consumer API: valid access tokens of the OAuth types, and the secrets of User
Credentials and Secure Parameters, by artifact name, for API tokens that may consume."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from pydantic import BeforeValidator, Field

from api import answers, lookup
from api.base import ApiTokenAuth, Error, RuntimeQuery, error_response, find, granted
from oauthflows import access
from securitymaterial.models import (
    ArtifactType,
    AuditEntry,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    SecureParameter,
    UserCredentials,
)
from securitymaterial.validators import DIGITS_RE

router = Router()


class AccessToken(Schema):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_at: datetime | None = Field(description="ISO 8601, UTC; null if not known")
    scope: str
    user_name: str
    sasl_xoauth2: str = Field(
        description="base64 of user=<User Name>^Aauth=Bearer <token>^A^A, for SMTP and IMAP"
    )


def _ascii_digits(value: Any) -> Any:
    """A number in a query string is ASCII digits: pydantic also takes "+30", " 30 "."""
    if isinstance(value, str) and not DIGITS_RE.fullmatch(value):
        raise ValueError("enter a whole number of seconds in digits 0 to 9")
    return value


class AccessTokenQuery(RuntimeQuery):
    min_valid_seconds: Annotated[int, BeforeValidator(_ascii_digits)] = Field(
        300,
        ge=0,
        le=86400,
        description="Refresh first if the token expires sooner (capped at half its lifetime)",
    )


class Secret(Schema):
    name: str
    type: str = Field(examples=[ArtifactType.USER_CREDENTIALS.value])
    user: str | None = Field(None, description="User Credentials only")
    password: str | None = Field(None, description="User Credentials only")
    company_id: str | None = Field(None, description="User Credentials of SuccessFactors only")
    value: str | None = Field(None, description="Secure Parameter only")


@router.get(
    "/security-material/{name}/access-token",
    response={
        200: AccessToken,
        400: Error,
        401: Error,
        403: Error,
        404: Error,
        409: Error,
        503: Error,
    },
    summary="A valid access token of an OAuth2 Authorization Code or Client Credentials artifact",
    auth=ApiTokenAuth(deferred=True),
)
def access_token(
    request: HttpRequest, response: HttpResponse, name: str, query: Query[AccessTokenQuery]
) -> Any:
    """Refreshed (or fetched) first when it expires within `min_valid_seconds`. 409: an
    admin must act (authorize, or fix the settings). 503: the provider cannot be reached and
    no valid token is left; retry after `Retry-After` seconds."""
    # The API token and the artifact in one statement (the hot path: api.lookup).
    looked_up = lookup.token_and_artifact(request.auth, query.runtime, name)  # type: ignore[attr-defined]
    if looked_up is None:
        raise AuthenticationError
    api_token = granted(request, "can_consume", looked_up[0])
    api_token.mark_used(timezone.now())
    artifact = find(api_token, query.runtime, name, found=looked_up[1])
    if not isinstance(artifact, OAuth2AuthorizationCode | OAuth2ClientCredentials):
        raise HttpError(
            404,
            f"“{artifact.name}” is {artifact.type_label}: it has no access token. "
            f"Read it with GET /api/v1/security-material/{artifact.name}.",
        )
    try:
        token = access.issue(
            artifact,
            min_valid_seconds=query.min_valid_seconds,
            via=f"API token “{api_token.name}”",
        )
    except access.TokenUnavailable as error:
        if error.needs_person:
            return error_response(409, error.message)
        return error_response(503, error.message, Retry_After=str(error.retry_after or 60))
    # api.answers keeps the answer until the artifact or the API token changes
    request.given_token = answers.Given(  # type: ignore[attr-defined]
        api_token.pk, artifact.pk, token.expires_at, token.lifetime
    )
    return AccessToken(
        access_token=token.access_token,
        token_type=token.token_type,
        expires_at=token.expires_at,
        scope=token.scope,
        user_name=token.user_name,
        sasl_xoauth2=token.sasl_xoauth2,
    )


@router.get(
    "/security-material/{name}",
    response={200: Secret, 400: Error, 401: Error, 403: Error, 404: Error},
    summary="The user and password of User Credentials, or the value of a Secure Parameter",
)
def secret(request: HttpRequest, name: str, query: Query[RuntimeQuery]) -> Any:
    """Every read is in the artifact's audit trail. OAuth artifacts hand out access tokens
    instead: GET …/access-token."""
    api_token = granted(request, "can_consume")
    artifact = find(api_token, query.runtime, name, UserCredentials, SecureParameter)
    answer = Secret(
        name=artifact.name,
        type=artifact.kind,
        user=None,
        password=None,
        company_id=None,
        value=None,
    )
    if isinstance(artifact, UserCredentials):
        answer.user, answer.password = artifact.user, artifact.password
        answer.company_id = artifact.company_id or None
    elif isinstance(artifact, SecureParameter):
        answer.value = artifact.value
    else:
        raise HttpError(
            404,
            f"“{artifact.name}” is {artifact.type_label}: get a token with "
            f"GET /api/v1/security-material/{artifact.name}/access-token.",
        )
    with transaction.atomic():  # every read is audited (secrets are read seldom), one commit
        artifact.mark_used(timezone.now())
        AuditEntry.record(
            artifact, AuditEntry.Action.SECRET_READ, detail=f"Read by API token “{api_token.name}”"
        )
    return answer
