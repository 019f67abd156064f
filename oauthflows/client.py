"""The token client: the only module that talks to token endpoints.

One function per grant (`exchange_code`, `refresh`, `client_credentials_grant`), all
through one request path (`_token_request`): a total deadline and the address policy
(transport), TLS verification, no redirects, a response size limit, strict parsing into
`TokenResult`, and our own exceptions. Nothing here logs or raises a secret, code, verifier
or token.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote_plus

import requests
import urllib3.exceptions
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from oauthflows import transport
from oauthproviders.base import ErrorClass, Provider
from oauthproviders.generic import Generic as GENERIC
from securitymaterial import redaction
from securitymaterial.models.client_credentials import (
    FIELD_PARAMETERS,
    RESERVED_HEADERS,
    RESERVED_PARAMETER_KEYS,
)
from securitymaterial.validators import INTERNAL_ADDRESS_MESSAGE, neutralized

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
MAX_RESPONSE_BYTES = 256 * 1024
USER_AGENT = "security-material/0.1 (+OAuth2 Authorization Code credentials)"
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
# Everything the network can raise while sending a request or reading its answer.
NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)
# Control characters in fields a provider chose: they would forge log lines.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# Bounds on what providers send: a year of token life, a day of waiting.
MAX_LIFETIME_SECONDS = 365 * 24 * 3600
MAX_RETRY_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ClientAuth:
    """How the client proves who it is at the token endpoint (RFC 6749 §2.3.1): its ID and
    secret, in the body or as HTTP Basic. Not to be confused with the Client Credentials
    grant or artifact type."""

    holds_secrets = True
    client_id: str
    client_secret: str
    send_as: str  # "body" (client_secret_post) or "basic" (client_secret_basic)

    def __repr__(self) -> str:  # never print the secret, even in a traceback
        return f"ClientAuth(client_id={self.client_id!r}, send_as={self.send_as!r})"


@dataclass(frozen=True)
class TokenResult:
    holds_secrets = True
    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str | None = field(repr=False)
    scope: str | None
    ext_expires_in: int | None = None
    id_token_claims: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def account_name(self) -> str:
        """The signed-in account from the id_token, when the provider sent one: shown and
        stored, so without control or direction characters and at most 254 characters (an
        e-mail address's limit). A cosmetic field never costs the token pair."""
        for claim in ("preferred_username", "upn", "email", "unique_name"):
            value = self.id_token_claims.get(claim)
            if isinstance(value, str):
                shown = neutralized(value)
                if shown.strip():
                    return shown.strip()[:254]
        return ""


class TokenError(Exception):
    """A token request failed. `message` is in plain words and safe to show and log."""

    def __init__(
        self,
        message: str,
        *,
        error: str = "",
        error_codes: tuple[int, ...] = (),
        description: str = "",
        trace_id: str = "",
        correlation_id: str = "",
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error = error
        self.error_codes = error_codes
        self.description = description
        self.trace_id = trace_id
        self.correlation_id = correlation_id
        self.status_code = status_code

    @property
    def support_ids(self) -> str:
        ids = [f"trace ID {self.trace_id}"] if self.trace_id else []
        ids += [f"correlation ID {self.correlation_id}"] if self.correlation_id else []
        return ", ".join(ids)


class TransientTokenError(TokenError):
    """Network trouble, timeouts, 5xx, 429: retry later and keep the tokens."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ReauthorizationRequired(TokenError):
    """The provider rejected the grant: a person must authorize again."""


class ConfigurationError(TokenError):
    """The artifact's settings are wrong (client, secret, scope, URL)."""


@sensitive_variables()
def exchange_code(
    provider: type[Provider],
    token_url: str,
    credentials: ClientAuth,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    scope: str,
) -> TokenResult:
    """Redeem an authorization code: RFC 6749 §4.1.3, PKCE per RFC 7636 §4.5.

    Microsoft wants `scope` on this request too (AADSTS28003), so it is always sent
    when the artifact has one.
    """
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    if scope:
        data["scope"] = scope
    return _token_request(provider, token_url, credentials, data, secrets=(code, code_verifier))


@sensitive_variables()
def refresh(
    provider: type[Provider],
    token_url: str,
    credentials: ClientAuth,
    *,
    refresh_token: str,
    scope: str,
) -> TokenResult:
    """Refresh an access token: RFC 6749 §6. Scope only where the provider wants it."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope and provider.scope_on_refresh:
        data["scope"] = scope
    return _token_request(provider, token_url, credentials, data, secrets=(refresh_token,))


@sensitive_variables()
def client_credentials_grant(
    token_url: str,
    credentials: ClientAuth,
    *,
    scope: str = "",
    resource: str = "",
    audience: str = "",
    json_body: bool = False,
    custom_parameters: tuple[tuple[str, str, str], ...] = (),
) -> TokenResult:
    """A token for the client itself: RFC 6749 §4.4.2. `resource` per RFC 8707, `audience`
    as Auth0 and others name it. Custom parameters (key, value, "body" | "header" | "url")
    are added where the admin said; their values are redacted from errors like secrets.
    Some APIs want the body as JSON instead of a form: `json_body`."""
    data = {"grant_type": "client_credentials"}
    for name, value in (("scope", scope), ("resource", resource), ("audience", audience)):
        if value:
            data[name] = value
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    for key, value, part in custom_parameters:
        # The form refuses these; a row written past it (an older version, a restore) is
        # not sent either, and says why instead of failing in the HTTP library.
        if (
            key.lower() in RESERVED_PARAMETER_KEYS
            or (part == "header" and key.lower() in RESERVED_HEADERS)
            or (part != "header" and key.lower() in FIELD_PARAMETERS)
        ):
            raise ConfigurationError(
                f"The custom parameter {key} is set by the service itself: remove it with Edit."
            )
        if part == "header" and not (value.isascii() and value.isprintable()):
            raise ConfigurationError(
                f"The custom header {key} has a value HTTP cannot carry: correct it with Edit."
            )
        {"body": data, "header": headers, "url": params}[part][key] = value
    values = tuple(value for _, value, _ in custom_parameters if value)
    return _token_request(
        GENERIC,
        token_url,
        credentials,
        data,
        secrets=values,
        extra_headers=headers,
        params=params,
        json_body=json_body,
    )


@sensitive_variables()
def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret, then Base64 them for HTTP Basic."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


@sensitive_variables()
def _token_request(
    provider: type[Provider],
    token_url: str,
    credentials: ClientAuth,
    data: dict[str, str],
    secrets: tuple[str, ...],
    *,
    extra_headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    json_body: bool = False,
) -> TokenResult:
    headers = {**(extra_headers or {}), "Accept": "application/json", "User-Agent": USER_AGENT}
    if credentials.send_as == "basic":
        headers["Authorization"] = basic_authorization(
            credentials.client_id, credentials.client_secret
        )
        if provider.client_id_in_body_with_basic:
            data["client_id"] = credentials.client_id
    else:
        data["client_id"] = credentials.client_id
        data["client_secret"] = credentials.client_secret
    response, body = _send(token_url, data, headers, params=params, json_body=json_body)
    return _parse(provider, response, body, (*secrets, credentials.client_secret))


@sensitive_variables()
def _send(
    token_url: str,
    data: dict[str, str],
    headers: dict[str, str],
    *,
    params: dict[str, str] | None = None,
    json_body: bool = False,
) -> tuple[requests.Response, bytes]:
    """POST the form and read the answer, all within TOKEN_REQUEST_TIMEOUT. Every way
    this can fail on the network is a TokenError."""
    total = settings.TOKEN_REQUEST_TIMEOUT
    response = None
    try:
        with transport.session(total) as (http, deadline):
            try:
                response = http.post(
                    token_url,
                    # requests sets the Content-Type for either.
                    data=None if json_body else data,
                    json=data if json_body else None,
                    params=params,
                    headers=headers,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                    allow_redirects=False,
                    verify=True,
                    stream=True,
                )
                with response:
                    body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            except NETWORK_ERRORS as error:
                raise _network_error(error, deadline, reading=response is not None) from None
    except transport.InternalAddressRefused:
        raise ConfigurationError(INTERNAL_ADDRESS_MESSAGE) from None
    return response, body


def _network_error(error: Exception, deadline: transport.Deadline, *, reading: bool) -> TokenError:
    if deadline.expired:
        return TransientTokenError(
            f"The Token Service URL took longer than the {deadline.seconds:g} s allowed for "
            "a token request."
        )
    if isinstance(error, requests.exceptions.SSLError):
        return ConfigurationError("The Token Service URL's TLS certificate could not be verified.")
    if isinstance(error, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return TransientTokenError("The Token Service URL did not answer in time.")
    if reading:
        return TransientTokenError("The connection broke while reading the answer.")
    return TransientTokenError("The Token Service URL could not be reached.")


def _parse(
    provider: type[Provider], response: requests.Response, body: bytes, redact: tuple[str, ...]
) -> TokenResult:
    status = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if 300 <= status < 400:
        raise ConfigurationError(
            f"The Token Service URL answered with a redirect (HTTP {status}); enter the final URL.",
            status_code=status,
        )
    if len(body) > MAX_RESPONSE_BYTES:
        raise TransientTokenError("The token endpoint's answer was too large.", status_code=status)
    payload = _json_object(body)
    if payload is not None and isinstance(payload.get("error"), str) and status >= 400:
        raise _provider_error(provider, payload, status, retry_after, redact)
    if status in TRANSIENT_STATUS or status >= 500:
        raise TransientTokenError(
            f"The token endpoint is unavailable (HTTP {status}).",
            retry_after=retry_after,
            status_code=status,
        )
    if payload is None:
        raise TransientTokenError(
            f"The token endpoint did not answer with JSON (HTTP {status}).",
            retry_after=retry_after,
            status_code=status,
        )
    if status != 200:
        raise ConfigurationError(
            f"The token endpoint answered HTTP {status} without an error code.",
            status_code=status,
        )
    return _token_result(payload)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _provider_error(
    provider: type[Provider],
    payload: dict[str, Any],
    status: int,
    retry_after: float | None,
    redact: tuple[str, ...],
) -> TokenError:
    # Classified and explained on the code as sent (never shown); an explanation that
    # would echo it echoes the redacted, cut one instead.
    raw_error = str(payload["error"])
    error = _field(payload, "error", 100, redact)
    raw_codes = payload.get("error_codes")
    codes = tuple(
        c for c in (raw_codes if isinstance(raw_codes, list) else [])[:10] if type(c) is int
    )
    details: dict[str, Any] = {
        "error": error,
        "error_codes": codes,
        "description": _field(payload, "error_description", 1000, redact),
        "trace_id": _field(payload, "trace_id", 100, redact),
        "correlation_id": _field(payload, "correlation_id", 100, redact),
        "status_code": status,
    }
    message = provider.explain(raw_error, codes)
    if raw_error in message:
        message = provider.explain(error, codes)
    logger.warning(
        "token endpoint error %s %s (HTTP %s, trace_id=%s, correlation_id=%s)",
        error,
        ",".join(map(str, codes)),
        status,
        details["trace_id"],
        details["correlation_id"],
    )
    kind = provider.classify(raw_error, codes)
    if kind is ErrorClass.TRANSIENT or status == 429:
        return TransientTokenError(message, retry_after=retry_after, **details)
    if kind is ErrorClass.REAUTHORIZE:
        return ReauthorizationRequired(message, **details)
    return ConfigurationError(message, **details)


def _token_result(payload: dict[str, Any]) -> TokenResult:
    """RFC 6749 §5.1: access_token and token_type are required; the rest is checked."""
    access_token = payload.get("access_token")
    token_type = payload.get("token_type")
    if not isinstance(access_token, str) or not access_token:
        raise ConfigurationError("The token endpoint's answer has no access_token.")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ConfigurationError(
            f"The token endpoint issued a “{str(token_type)[:20]}” token; only Bearer is supported."
        )
    refresh_token = payload.get("refresh_token")
    scope = payload.get("scope")
    return TokenResult(
        access_token=access_token,
        token_type="Bearer",  # noqa: S106 - a token type, not a secret
        expires_in=_seconds(payload.get("expires_in")),
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        # Microsoft leaves offline_access out of the echoed scope; that is not an error.
        scope=scope if isinstance(scope, str) else None,
        ext_expires_in=_seconds(payload.get("ext_expires_in")),
        id_token_claims=_id_token_claims(payload.get("id_token")),
    )


def _seconds(value: Any) -> int | None:
    """A lifetime in seconds, at most MAX_LIFETIME_SECONDS: a provider that says 1e30 (or
    Infinity) means "long", and no clock can hold it. Some servers send numbers as strings."""
    if isinstance(value, bool):
        return None
    try:
        seconds = value if isinstance(value, int | float) else int(value)
    except (TypeError, ValueError):
        return None
    if not seconds > 0:  # also NaN
        return None
    return int(min(seconds, MAX_LIFETIME_SECONDS))


def _id_token_claims(id_token: Any) -> dict[str, Any]:
    """Claims of an id_token received directly from the token endpoint over TLS; OpenID
    Connect Core §3.1.3.7 lets the client skip the signature check in that case. Used only
    to show which account signed in."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3), at most
    MAX_RETRY_AFTER_SECONDS: a provider asking for 1e20 s is not waited on for ages."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(value)
        wait = (when - timezone.now()).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(0.0, wait), MAX_RETRY_AFTER_SECONDS)


def _field(payload: dict[str, Any], name: str, limit: int, redact: tuple[str, ...]) -> str:
    """A text field of an error answer, safe to log and show: secrets the server echoed
    are redacted before the cut (so no part of one survives it), control characters go."""
    return _CONTROL_RE.sub(" ", redaction.redact(str(payload.get(name) or ""), redact, limit))
