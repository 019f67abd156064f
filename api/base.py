"""The API object (django-ninja: typed endpoints and an OpenAPI 3.1 description generated
from them), its authentication, its error handlers and what its routers share. The routers
(api.consumer, api.manage) are mounted in api.operations. Integrations authenticate with an
API token, never a session."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from api.lookup import NAME_MAX_LENGTH, Presented
from api.models import ApiToken
from api.parsing import StrictJSON
from monitoring import logcontext
from securitymaterial import crypto
from securitymaterial.models import (
    Artifact,
    Runtime,
)
from securitymaterial.validators import neutralized

BEARER_RE = re.compile(r"Bearer ([^\s]+)", re.IGNORECASE)  # RFC 6750 §2.1


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <API token>`. Session cookies count for nothing here.

    `deferred`: the token is not looked up here but by the operation, in the same statement
    as the artifact (api.lookup); an unknown one gets the same 401 from there."""

    def __init__(self, *, deferred: bool = False) -> None:
        super().__init__()
        self.deferred = deferred

    def __call__(self, request: HttpRequest) -> ApiToken | Presented | None:
        # ninja's own parsing logs a header without the Bearer scheme whole when DEBUG is
        # on (an API token sent bare, a Basic password): no header value reaches a log.
        header = request.headers.get("Authorization", "")
        match = BEARER_RE.fullmatch(header)
        if match is None:
            if header:  # the 401 says the header is malformed, not the token unknown
                request.auth_malformed = True  # type: ignore[attr-defined]
            return None
        return self.authenticate(request, match.group(1))

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | Presented | None:
        if self.deferred:
            return Presented(token) if ApiToken.plausible(token) else None
        return ApiToken.authenticate(token)


api = NinjaAPI(
    title="Security Material",
    version="1",
    description="Valid access tokens and secrets for integrations, by artifact name; and the "
    "management of the catalogue for API tokens that may manage.",
    auth=ApiTokenAuth(),
    urls_namespace="api",
    docs_url=None,  # api.views.description renders it: readable without JavaScript, WCAG AA
    parser=StrictJSON(),
)


class Error(Schema):
    detail: str


def error_response(status: int, detail: str, **headers: str) -> HttpResponse:
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
    return error_response(401, detail, WWW_Authenticate="Bearer")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    refused = getattr(request, "body_refused", None)
    if refused:
        return error_response(
            400, f"The request body is not the JSON this operation takes: {refused}."
        )
    return error_response(exc.status_code, str(exc))


@api.exception_handler(RequestDataTooBig)
def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / 1024 / 1024
    return error_response(400, f"The request body is larger than the {limit:g} MB this API reads.")


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """JSON, in every mode: ninja's DEBUG handler answered with a plain traceback that
    bypassed the secret filter. Logged as Django logs a 500 (the error mail goes through
    config.debug's filter)."""
    response = error_response(500, "Internal error. It was logged; try again later.")
    log_response(
        "Internal Server Error: %s",
        request.path,
        response=response,
        request=request,
        exception=exc,
    )
    return response


@api.exception_handler(crypto.DecryptionError)
def unreadable(request: HttpRequest, exc: crypto.DecryptionError) -> HttpResponse:
    return error_response(503, crypto.UNREADABLE, Retry_After="300")


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


GRANT_REFUSED = {
    "can_consume": "may manage artifacts but not fetch tokens or secrets",
    "can_manage": "may not manage artifacts",
}


def granted(request: HttpRequest, grant: str, api_token: ApiToken | None = None) -> ApiToken:
    """The request's API token, if it has the grant (`can_consume`, `can_manage`): the two
    are chosen separately when a token is made."""
    if api_token is None:
        api_token = request.auth  # type: ignore[attr-defined]
    assert isinstance(api_token, ApiToken)
    if not getattr(api_token, grant):
        raise HttpError(
            403,
            f"The API token “{api_token.name}” {GRANT_REFUSED[grant]}; an "
            "admin can create one that may.",
        )
    return api_token


NOT_LOOKED_UP: Any = object()


def find(
    api_token: ApiToken,
    runtime: str,
    name: str,
    *types: type[Artifact],
    found: Artifact | None = NOT_LOOKED_UP,
) -> Artifact:
    """The artifact of that name, whatever its type (an instance of its type if it is one of
    `types`); 403 before the lookup if the token may not use it, so a limited token cannot
    even learn which other names exist. `found`: what api.lookup found with the token,
    used only once the token may see it."""
    label = Runtime(runtime).label
    shown = shown_name(name)
    if not api_token.allows(runtime, name):
        raise HttpError(403, f"The API token “{api_token.name}” may not use “{shown}” in {label}.")
    # The whole name, never a part: a name no artifact can have (over 150 characters)
    # finds nothing rather than the artifact named by its first 150.
    artifact = found
    if artifact is NOT_LOOKED_UP:
        artifact = Artifact.find(runtime, name, *types) if len(name) <= NAME_MAX_LENGTH else None
    if artifact is None:
        raise HttpError(404, f"No artifact is named “{shown}” in {label}.")
    logcontext.concerns(artifact.runtime, artifact.name)
    return artifact


def shown_name(name: str) -> str:
    """A name from the path as an answer may quote it: without control or direction
    characters, and cut."""
    clean = neutralized(name)
    return clean if len(clean) <= 60 else clean[:60] + "…"
