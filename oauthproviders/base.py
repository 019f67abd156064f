"""What a provider is: a small declarative class, no registration magic."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class ErrorClass(Enum):
    """What a token-endpoint error means for the credential."""

    REAUTHORIZE = "reauthorize"  # a person must sign in and consent again
    CONFIGURATION = "configuration"  # the artifact's settings are wrong; fix them
    TRANSIENT = "transient"  # retry later, keep the tokens


# RFC 6749 §5.2 and OpenID Connect Core §3.1.2.6 error codes.
GENERIC_ERROR_CLASSES: dict[str, ErrorClass] = {
    "invalid_grant": ErrorClass.REAUTHORIZE,
    "interaction_required": ErrorClass.REAUTHORIZE,
    "consent_required": ErrorClass.REAUTHORIZE,
    "login_required": ErrorClass.REAUTHORIZE,
    "invalid_client": ErrorClass.CONFIGURATION,
    "unauthorized_client": ErrorClass.CONFIGURATION,
    "invalid_request": ErrorClass.CONFIGURATION,
    "invalid_scope": ErrorClass.CONFIGURATION,
    "unsupported_grant_type": ErrorClass.CONFIGURATION,
    "invalid_resource": ErrorClass.CONFIGURATION,
    "temporarily_unavailable": ErrorClass.TRANSIENT,
    "server_error": ErrorClass.TRANSIENT,
}

# Plain words for error codes, shown to admins instead of the raw code.
GENERIC_EXPLANATIONS: dict[str, str] = {
    "invalid_grant": "The provider no longer accepts the authorization (it expired, was "
    "revoked, or was already used).",
    "interaction_required": "The provider wants the user to sign in interactively again.",
    "consent_required": "The provider needs consent again.",
    "login_required": "The provider wants the user to sign in again.",
    "invalid_client": "The provider did not accept the Client ID and Client Secret (or the "
    "Send As method).",
    "unauthorized_client": "The client is not allowed to use the authorization code grant.",
    "invalid_request": "The provider rejected the request as malformed.",
    "invalid_scope": "The provider rejected the Scope.",
    "unsupported_grant_type": "The provider does not support this grant type.",
    "temporarily_unavailable": "The provider is temporarily unavailable.",
    "server_error": "The provider had an internal error.",
    "access_denied": "Sign-in was cancelled or consent was refused.",
}


class Provider:
    id: ClassVar[str]
    label: ClassVar[str]
    # "{tenant}" is replaced by the artifact's tenant; None means the admin writes the URL.
    authorization_url_template: ClassVar[str | None] = None
    token_url_template: ClassVar[str | None] = None
    needs_tenant: ClassVar[bool] = False
    # Scopes the provider needs to return a refresh token; added when the admin leaves them out.
    required_scopes: ClassVar[tuple[str, ...]] = ()
    scope_suggestions: ClassVar[tuple[tuple[str, str], ...]] = ()
    # The provider's own SMTP and IMAP hosts: where an Operator may send the artifact's
    # access token in a Connectivity Test (CONNECTIVITY_ALLOWED_HOSTS adds others).
    mail_hosts: ClassVar[tuple[str, ...]] = ()
    # Refresh Token Expiry in days.
    min_refresh_days: ClassVar[int] = 3
    max_refresh_days: ClassVar[int] = 3650
    default_refresh_days: ClassVar[int | None] = None
    refresh_days_may_be_blank: ClassVar[bool] = True
    # Extra authorization request parameters (e.g. response_mode).
    authorization_params: ClassVar[dict[str, str]] = {}
    # RFC 6749 §4.1.3 asks for client_id in the body only when the client does not
    # authenticate; some servers want it with HTTP Basic too.
    client_id_in_body_with_basic: ClassVar[bool] = False
    # RFC 6749 §6 allows scope on refresh; the platform we mimic sends it only on the code.
    scope_on_refresh: ClassVar[bool] = False
    # Hint appended to the "no refresh token" error.
    no_refresh_token_hint: ClassVar[str] = (
        "Add what the provider needs to issue one to the Authorization URL (for example "  # noqa: S105
        "access_type=offline&prompt=consent for Google, token_access_type=offline for "
        "Dropbox), then choose Authorize again."
    )

    @classmethod
    def urls_for_tenant(cls, tenant: str) -> tuple[str, str] | None:
        if cls.authorization_url_template is None or cls.token_url_template is None:
            return None
        return (
            cls.authorization_url_template.format(tenant=tenant),
            cls.token_url_template.format(tenant=tenant),
        )

    # What a scope lets the service do, in the words the consent page shows the owner; a
    # URL scope is also looked up by its last segment ("…/SMTP.Send" as "SMTP.Send").
    scope_words: ClassVar[dict[str, str]] = {
        "offline_access": "keep access until you withdraw it",
        "openid": "confirm who you are",
        "email": "see your e-mail address",
        "profile": "see your name and basic profile",
    }

    @classmethod
    def explain_scope(cls, scope: str) -> list[tuple[str, str]]:
        """Each scope with its plain words ("" where the provider's meaning is not known)."""
        return [
            (item, cls.scope_words.get(item) or cls.scope_words.get(item.rsplit("/", 1)[-1], ""))
            for item in scope.split()
        ]

    @classmethod
    def complete_scope(cls, scope: str) -> tuple[str, list[str]]:
        """Return the scope with the required scopes appended, and which ones were added."""
        scopes = scope.split()
        added = [required for required in cls.required_scopes if required not in scopes]
        return " ".join(scopes + added), added

    @classmethod
    def authorization_request_url(cls, base_url: str, params: dict[str, str]) -> str:
        """RFC 6749 §4.1.1: keep the admin's query parameters, set ours (ours win)."""
        parts = urlsplit(base_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        ours = {**params, **cls.authorization_params}
        query = [(k, v) for k, v in query if k not in ours] + list(ours.items())
        return urlunsplit(parts._replace(query=urlencode(query)))

    @classmethod
    def classify(cls, error: str, error_codes: tuple[int, ...]) -> ErrorClass:
        # Unknown codes: a person looks rather than a loop retrying forever.
        return GENERIC_ERROR_CLASSES.get(error, ErrorClass.CONFIGURATION)

    @classmethod
    def explain(cls, error: str, error_codes: tuple[int, ...]) -> str:
        return GENERIC_EXPLANATIONS.get(error, f"The provider answered “{error}”.")
