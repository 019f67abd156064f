"""The consumer API (django-ninja: typed endpoints and an OpenAPI 3.1 description generated
from them). Integrations authenticate with an API token, never a session."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.log import log_response
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import BeforeValidator, Field

from api.models import ApiToken
from api.parsing import StrictJSON
from oauthflows import access
from securitymaterial import crypto
from securitymaterial.models import (
    Artifact,
    ArtifactType,
    AuditEntry,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    Runtime,
    SecureParameter,
    UserCredentials,
)
from securitymaterial.validators import BIDI_CONTROLS, DIGITS_RE

BEARER_RE = re.compile(r"Bearer ([^\s]+)", re.IGNORECASE)  # RFC 6750 §2.1


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <API token>`. Session cookies count for nothing here."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # ninja's own parsing logs a header without the Bearer scheme whole when DEBUG is
        # on (an API token sent bare, a Basic password): no header value reaches a log.
        header = request.headers.get("Authorization", "")
        match = BEARER_RE.fullmatch(header)
        if match is None:
            if header:  # the 401 says the header is malformed, not the token unknown
                request.auth_malformed = True  # type: ignore[attr-defined]
            return None
        return self.authenticate(request, match.group(1))

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return ApiToken.authenticate(token)


api = NinjaAPI(
    title="Security Material",
    version="1",
    description="Valid access tokens and secrets for integrations, by artifact name; and the "
    "management of the catalogue for API tokens that may manage.",
    auth=ApiTokenAuth(),
    urls_namespace="api",
    docs_url=None,  # api.pages.description renders it: readable without JavaScript, WCAG AA
    parser=StrictJSON(),
)


class Error(Schema):
    detail: str


class AccessToken(Schema):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_at: datetime | None = Field(description="ISO 8601, UTC; null if not known")
    scope: str
    user_name: str
    sasl_xoauth2: str = Field(
        description="base64 of user=<User Name>^Aauth=Bearer <token>^A^A, for SMTP and IMAP"
    )


def _error(status: int, detail: str, **headers: str) -> HttpResponse:
    response = api.create_response(None, {"detail": detail}, status=status)  # type: ignore[arg-type]
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if getattr(request, "auth_malformed", False):
        detail = (
            "The Authorization header is malformed: send it as Authorization: Bearer <token>, "
            "with one space and nothing else."
        )
    else:
        detail = (
            "Send a valid API token as Authorization: Bearer <token>. This one is missing, "
            "unknown or revoked."
        )
    return _error(401, detail, WWW_Authenticate="Bearer")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    refused = getattr(request, "body_refused", None)
    if refused:
        return _error(400, f"The request body is not the JSON this operation takes: {refused}.")
    return _error(exc.status_code, str(exc))


@api.exception_handler(RequestDataTooBig)
def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / 1024 / 1024
    return _error(400, f"The request body is larger than the {limit:g} MB this API reads.")


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """JSON, in every mode: ninja's DEBUG handler answered with a plain traceback that
    bypassed the secret filter. Logged as Django logs a 500 (the error mail goes through
    config.debug's filter)."""
    response = _error(500, "Internal error. It was logged; try again later.")
    log_response(
        "Internal Server Error: %s", request.path, response=response, request=request,
        exception=exc,
    )  # fmt: skip
    return response


@api.exception_handler(crypto.DecryptionError)
def unreadable(request: HttpRequest, exc: crypto.DecryptionError) -> HttpResponse:
    return _error(503, crypto.UNREADABLE, Retry_After="300")


@api.exception_handler(ValidationError)
def bad_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Also by field, as the management API's form errors are (the shape it documents)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors[:5]:
        parts = [str(part) for part in error.get("loc", [])[1:]]
        if parts[:1] == ["body"] and len(parts) > 1:  # a field of the JSON: named as the form
            parts = parts[1:]
        field = ".".join(parts) or "request"
        errors.setdefault(field[:100], []).append(str(error.get("msg", "invalid"))[:200])
    detail = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
    return api.create_response(request, {"detail": detail[:500], "errors": errors}, status=400)


class RuntimeQuery(Schema):
    runtime: Runtime = Runtime.CLOUD


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


GRANT_REFUSED = {
    "can_consume": "may manage artifacts but not fetch tokens or secrets",
    "can_manage": "may not manage artifacts",
}


def granted(request: HttpRequest, grant: str) -> ApiToken:
    """The request's API token, if it has the grant (`can_consume`, `can_manage`): the two
    are chosen separately when a token is made."""
    api_token: ApiToken = request.auth  # type: ignore[attr-defined]
    if not getattr(api_token, grant):
        raise HttpError(403, f"The API token “{api_token.name}” {GRANT_REFUSED[grant]}; an "
                        "admin can create one that may.")  # fmt: skip
    return api_token


NAME_MAX_LENGTH = 150


def find(api_token: ApiToken, runtime: str, name: str, *types: type[Artifact]) -> Artifact:
    """The artifact of that name, whatever its type (an instance of its type if it is one of
    `types`); 403 before the lookup if the token may not use it, so a limited token cannot
    even learn which other names exist."""
    label = Runtime(runtime).label
    shown = shown_name(name)
    if not api_token.allows(runtime, name):
        raise HttpError(403, f"The API token “{api_token.name}” may not use “{shown}” in {label}.")
    # The whole name, never a part: a name no artifact can have (over 150 characters)
    # finds nothing rather than the artifact named by its first 150.
    artifact = Artifact.find(runtime, name, *types) if len(name) <= NAME_MAX_LENGTH else None
    if artifact is None:
        raise HttpError(404, f"No artifact is named “{shown}” in {label}.")
    return artifact


def shown_name(name: str) -> str:
    """A name from the path as an answer may quote it: without control or direction
    characters, and cut."""
    clean = "".join("\ufffd" if not c.isprintable() or c in BIDI_CONTROLS else c for c in name)
    return clean if len(clean) <= 60 else clean[:60] + "…"


@api.get(
    "/security-material/{name}/access-token",
    response={200: AccessToken, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error,
              503: Error},
    summary="A valid access token of an OAuth2 Authorization Code or Client Credentials artifact",
)  # fmt: skip
def access_token(
    request: HttpRequest, response: HttpResponse, name: str, query: Query[AccessTokenQuery]
) -> Any:
    """Refreshed (or fetched) first when it expires within `min_valid_seconds`. 409: an
    admin must act (authorize, or fix the settings). 503: the provider cannot be reached and
    no valid token is left; retry after `Retry-After` seconds."""
    api_token = granted(request, "can_consume")
    artifact = find(
        api_token, query.runtime, name, OAuth2AuthorizationCode, OAuth2ClientCredentials
    )
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
            return _error(409, error.message)
        return _error(503, error.message, Retry_After=str(error.retry_after or 60))
    return AccessToken(
        access_token=token.access_token,
        token_type=token.token_type,
        expires_at=token.expires_at,
        scope=token.scope,
        user_name=token.user_name,
        sasl_xoauth2=token.sasl_xoauth2,
    )


@api.get(
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
        raise HttpError(404, f"“{artifact.name}” is {artifact.type_label}: get a token with "
                        f"GET /api/v1/security-material/{artifact.name}/access-token.")  # fmt: skip
    with transaction.atomic():  # every read is audited (secrets are read seldom), one commit
        artifact.mark_used(timezone.now())
        AuditEntry.record(
            artifact, AuditEntry.Action.SECRET_READ, detail=f"Read by API token “{api_token.name}”"
        )
    return answer


from api import manage  # noqa: E402 - registers the management API on `api`

__all__ = ["api", "manage"]
