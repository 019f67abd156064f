"""The consent flow: start an authorization, complete it at the Redirect URL.

The callback runs fixed steps in order (conventions, habit 4): load and delete the state
→ reject missing/expired/foreign → handle error= → exchange the code with the stored PKCE
verifier → persist atomically → the view redirects to a clean URL.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from monitoring import logcontext
from oauthflows import client, consent, pkce
from oauthflows.models import STATE_LIFETIME, AuthorizationState, ConsentLink, digest
from oauthflows.refresh import notify_admins
from oauthproviders import PROVIDERS
from oauthproviders.base import GENERIC_EXPLANATIONS
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from securitymaterial.providers import redirect_url
from securitymaterial.validators import neutralized

logger = logging.getLogger(__name__)

# RFC 6749 §A.11: code = 1*VSCHAR (printable ASCII); a blank one is not worth sending.
CODE_RE = re.compile(r"[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*")
SETTINGS_CHANGED = "Settings changed during sign-in; choose Authorize again."


class FlowError(Exception):
    """The callback cannot complete; `message` is plain words, safe to show and log."""

    def __init__(
        self,
        title: str,
        message: str,
        *,
        status: int = 400,
        artifact: OAuth2AuthorizationCode | None = None,
        support_ids: str = "",
        description: str = "",
    ) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
        self.artifact = artifact
        self.support_ids = support_ids
        self.description = description


@dataclass(frozen=True)
class Outcome:
    artifact: OAuth2AuthorizationCode
    ok: bool
    message: str


@sensitive_variables("state", "verifier", "params")
def start_authorization(
    artifact: OAuth2AuthorizationCode, request: HttpRequest, link: ConsentLink | None = None
) -> str:
    """Record a single-use state for this admin (or this consent link) and session; return
    the provider's URL."""
    user_id = None if link is not None else request.user.pk
    if user_id is None and link is None:  # the view requires a permission: narrows the type
        raise PermissionDenied
    if request.session.session_key is None:
        request.session.save()
    state = secrets.token_urlsafe(32)  # 256 bits
    verifier = pkce.make_verifier() if artifact.use_pkce else ""
    callback = redirect_url()
    now = timezone.now()
    AuthorizationState.objects.filter(expires_at__lt=now).delete()
    AuthorizationState.objects.create(
        state_hash=digest(state),
        artifact=artifact,
        user_id=user_id,
        consent_link=link,
        session_hash=digest(request.session.session_key or ""),
        code_verifier=verifier,
        redirect_uri=callback,
        token_service_url=artifact.token_service_url,
        artifact_fingerprint=artifact.authorization_fingerprint(),
        created_at=now,
        expires_at=now + STATE_LIFETIME,
    )
    params = {
        "client_id": artifact.client_id,
        "response_type": "code",
        "redirect_uri": callback,
        "state": state,
    }
    if artifact.scope:
        params["scope"] = artifact.scope
    if verifier:
        params["code_challenge"] = pkce.s256_challenge(verifier)
        params["code_challenge_method"] = "S256"
    if artifact.user_name:
        params["login_hint"] = artifact.user_name
    by = "the owner through a consent link" if link is not None else request.user
    logger.info("authorization started for artifact %s by %s", artifact.name, by)
    return PROVIDERS[artifact.provider].authorization_request_url(
        artifact.authorization_url, params
    )


@sensitive_variables("code", "record", "result")
def complete_authorization(request: HttpRequest) -> Outcome:
    record = _take_state(request)
    artifact = record.artifact
    logcontext.concerns(artifact.runtime, artifact.name)
    _check_provider_error(request, artifact)
    code = request.GET.get("code", "")
    if not code or len(code) > 4096 or not CODE_RE.fullmatch(code):
        raise FlowError(
            "No authorization code",
            "The provider sent no usable authorization code (it is missing, blank or "
            "malformed). Choose Authorize again.",
            artifact=artifact,
        )
    link = record.consent_link
    if link is not None:
        link.artifact = artifact
        if not link.usable(timezone.now()):
            raise FlowError(
                "This consent link has ended",
                "The link expired, was used or revoked, or the credential changed while you "
                "were signing in. Ask the person who sent it for a new one.",
                status=410,
            )
    if record.artifact_fingerprint != artifact.authorization_fingerprint():
        raise _changed_meanwhile(artifact)
    try:
        result = client.exchange_code(
            PROVIDERS[artifact.provider],
            record.token_service_url,
            client.ClientAuth(artifact.client_id, artifact.client_secret, artifact.send_as),
            code=code,
            redirect_uri=record.redirect_uri,
            code_verifier=record.code_verifier,
            scope=artifact.scope,
        )
    except client.TokenError as exc:
        _record_failure(artifact, request.user, exc.message)
        wait = getattr(exc, "retry_after", None)
        raise FlowError(
            "The provider did not issue tokens",
            exc.message
            + (
                f" The provider asks to wait {_duration(wait)}, then choose Authorize again."
                if wait
                else ""
            ),
            status=502,
            artifact=artifact,
            support_ids=exc.support_ids,
            description=exc.description,
        ) from None
    if link is not None:
        return _persist_consent(artifact, result, link, record.artifact_fingerprint)
    return _persist(artifact, result, request.user, record.artifact_fingerprint)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"


def _changed_meanwhile(artifact: OAuth2AuthorizationCode) -> FlowError:
    return FlowError(
        "The artifact changed",
        f"{artifact.name} was changed while you were signing in. Choose Authorize again.",
        status=409,
        artifact=artifact,
    )


def for_consent_link(request: HttpRequest) -> bool:
    """Whether the callback's state belongs to a consent link (the owner, not signed in
    here) rather than to an admin's Authorize."""
    state = request.GET.get("state", "")
    return (
        bool(state)
        and AuthorizationState.objects.filter(
            state_hash=digest(state[:512]), consent_link__isnull=False
        ).exists()
    )


@sensitive_variables("state", "record")
def _take_state(request: HttpRequest) -> AuthorizationState:
    """Load and delete the state in one step: a second use finds nothing."""
    state = request.GET.get("state", "")
    if not state:
        raise FlowError(
            "This is not a sign-in response",
            "The address has no state parameter, so it does not belong to an authorization "
            "started here. Start from the artifact and choose Authorize.",
        )
    if len(state) > 512:
        raise FlowError(
            "This is not a sign-in response",
            "The state parameter is far longer than any this service issues, so it does not "
            "belong to an authorization started here. Start from the artifact and choose "
            "Authorize.",
        )
    record = (
        AuthorizationState.objects.select_related("artifact", "consent_link")
        .filter(state_hash=digest(state))
        .first()
    )
    unknown = FlowError(
        "This sign-in link is used up",
        "This sign-in response was already used or is unknown. Choose Authorize again.",
    )
    if record is None:
        raise unknown
    # Checked before the state is used up: a response replayed in another browser must
    # not cost the admin who started the sign-in their authorization.
    started_by = None if record.consent_link_id is not None else request.user.pk
    if record.user_id != started_by or record.session_hash != digest(
        request.session.session_key or ""
    ):
        raise FlowError(
            "This sign-in belongs to another session",
            "The authorization was started by another user or in another browser session. "
            "Finish it there, or choose Authorize in this session.",
            status=403,
        )
    # The row count makes this a compare-and-set on every database: of two concurrent
    # callbacks with the same state, only one deletes the row.
    if AuthorizationState.objects.filter(pk=record.pk).delete()[0] != 1:
        raise unknown
    if record.expired:
        raise FlowError(
            "The sign-in took too long",
            "More than 10 minutes passed since you chose Authorize. Choose Authorize again.",
            artifact=record.artifact,
        )
    return record


def _printable(text: str, limit: int) -> str:
    """A field the provider put in the address: shown and stored, so without control or
    direction characters (a NUL made the callback a 500), and cut."""
    return neutralized(text)[:limit]


def _check_provider_error(request: HttpRequest, artifact: OAuth2AuthorizationCode) -> None:
    """RFC 6749 §4.1.2.1: the provider redirects back with error= instead of a code."""
    error = _printable(request.GET.get("error", ""), 100)
    if not error:
        return
    description = _printable(request.GET.get("error_description", ""), 1000)
    if error == "access_denied":
        raise FlowError(
            "Authorization cancelled",
            f"Sign-in or consent for {artifact.name} was cancelled at the provider. "
            "Nothing changed.",
            artifact=artifact,
            description=description,
        )
    _record_failure(artifact, request.user, f"The provider answered “{error}”.")
    support = ", ".join(
        f"{label} {_printable(request.GET[key], 100)}"
        for key, label in (("trace_id", "trace ID"), ("correlation_id", "correlation ID"))
        if request.GET.get(key)
    )
    raise FlowError(
        "The provider refused the authorization",
        GENERIC_EXPLANATIONS.get(error, f"The provider answered “{error}”."),
        artifact=artifact,
        description=description,
        support_ids=support,
    )


@sensitive_variables("result")
def _persist(
    artifact: OAuth2AuthorizationCode, result: client.TokenResult, user: Any, fingerprint: str
) -> Outcome:
    with OAuth2AuthorizationCode.locked(artifact.pk) as artifact:
        if artifact.authorization_fingerprint() != fingerprint:
            # Edited while the code was being exchanged: the tokens belong to the settings
            # before the edit. Store nothing.
            artifact.mark_unauthorized(SETTINGS_CHANGED)
            artifact.save()
            AuditEntry.record(
                artifact, AuditEntry.Action.AUTHORIZATION_FAILED, user, detail=SETTINGS_CHANGED
            )
            changed = True
        elif artifact.is_other_account(result.account_name) and not user.has_perm(
            "securitymaterial.change_artifact"
        ):
            # An Operator may authorize, but not with another mailbox's consent: only an
            # Administrator may store a delegate's (a shared mailbox's) authorization.
            reason = (
                f"{result.account_name} signed in, but the User Name is {artifact.user_name}. "
                "Nothing was stored: sign in as that account, or ask an Administrator, who "
                "may authorize with another account."
            )
            _record_failure(artifact, user, reason)
            return Outcome(artifact, ok=False, message=reason)
        elif result.refresh_token is None:
            reason = (
                "The provider returned no refresh token, so the credential cannot be kept "
                f"alive. {PROVIDERS[artifact.provider].no_refresh_token_hint}"
            )
            artifact.forget_tokens()
            artifact.mark_error(reason)
            artifact.save()
            AuditEntry.record(artifact, AuditEntry.Action.AUTHORIZATION_FAILED, user, detail=reason)
            return Outcome(artifact, ok=False, message=reason)
        else:
            artifact.store_tokens(result, by=user)
            artifact.save()
            AuditEntry.record(artifact, AuditEntry.Action.AUTHORIZED, user)
            changed = False
    if changed:
        raise _changed_meanwhile(artifact)
    logger.info("artifact %s authorized by %s", artifact.name, user)
    message = f"{artifact.name} is authorized and deployed."
    if artifact.account_differs:
        message += (
            f" Note: consent was given by {artifact.authorized_account}, not by the User "
            f"Name {artifact.user_name}."
        )
    return Outcome(artifact, ok=True, message=message)


@sensitive_variables("result")
def _persist_consent(
    artifact: OAuth2AuthorizationCode,
    result: client.TokenResult,
    link: ConsentLink,
    fingerprint: str,
) -> Outcome:
    """The owner's consent through a link: stored only for the account the artifact names,
    and the link ends. Another account stores nothing, and the link stays usable."""
    account = result.account_name
    with OAuth2AuthorizationCode.locked(artifact.pk) as artifact:
        link.refresh_from_db()  # revoked or replaced meanwhile?
        link.artifact = artifact
        if artifact.authorization_fingerprint() != fingerprint or not link.usable(timezone.now()):
            raise FlowError(
                "This consent link has ended",
                "The credential changed, or the link was revoked, while you were signing in. "
                "Nothing was stored. Ask the person who sent it for a new one.",
                status=410,
            )
        if artifact.is_other_account(account):
            reason = (
                f"{account} signed in, but this consent is for {artifact.user_name}. Nothing "
                f"was stored. Sign in as {artifact.user_name} (sign out at the provider first "
                "if it signs you in by itself), then choose Sign in and consent again."
            )
            # Nothing at all is written: the link stays as it was, usable until it expires.
            logger.warning(
                "consent link of %s: %s signed in, not the User Name", artifact.name, account
            )
            return Outcome(artifact, ok=False, message=reason)
        if result.refresh_token is None:
            reason = (
                "The provider returned no refresh token, so the credential cannot be kept "
                f"alive. {PROVIDERS[artifact.provider].no_refresh_token_hint}"
            )
            AuditEntry.record(
                artifact, AuditEntry.Action.AUTHORIZATION_FAILED, actor=account, detail=reason
            )
            return Outcome(artifact, ok=False, message=reason)
        artifact.store_tokens(result, by=None)
        artifact.save()
        AuditEntry.record(
            artifact,
            AuditEntry.Action.AUTHORIZED,
            actor=account or consent.OWNER,
            detail=f"Consent given by {account or 'the mailbox owner'} through the consent "
            f"link {link.created_by_name} created",
        )
        consent.used(link, account)
    logger.info("artifact %s authorized through a consent link", artifact.name)
    notify_admins(
        f"{artifact.name} was authorized through a consent link",
        f"{account or 'The mailbox owner'} gave consent for the OAuth2 Authorization Code "
        f"credential {artifact.name} through the link {link.created_by_name} created. It is "
        "deployed; nothing else needs doing.",
    )
    return Outcome(artifact, ok=True, message="Consent recorded")


def _record_failure(artifact: OAuth2AuthorizationCode, user: Any, reason: str) -> None:
    """An unauthorized artifact says why the last try failed; a working one keeps working."""
    with transaction.atomic():
        if artifact.status == Status.UNAUTHORIZED:
            OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
                status_reason=f"The last authorization failed: {reason}"[:1000]
            )
        if not getattr(user, "is_authenticated", False):  # the owner, through a consent link
            user = None
        actor = "" if user is not None else consent.OWNER
        AuditEntry.record(
            artifact, AuditEntry.Action.AUTHORIZATION_FAILED, user, actor=actor, detail=reason
        )
