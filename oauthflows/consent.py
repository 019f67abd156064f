"""Consent by link: the mailbox owner authorizes an artifact without an account here.

An admin who may authorize creates a link (one per artifact at a time; a new one replaces
the old). The owner opens it in any browser: the service checks it, binds it to that
browser's session and redirects to a clean address, so the link's token is in one request
only and never in an address bar, a history, a Referer or an access log (it travels in the
query string, which the access log leaves out). The owner's button starts the same
authorization as Authorize (flow.start_authorization), bound to the link and the session;
the callback stores the tokens exactly as for Authorize, but only for the account the
artifact names (User Name), and then ends the link.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from oauthflows.models import CONSENT_LINK_TOKEN_BYTES, ConsentLink, digest
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode

logger = logging.getLogger(__name__)

SESSION_KEY = "consent_link"  # the link this browser opened (its id, never its token)
RECORDED_KEY = "consent_recorded"  # the artifact's name, for the page after the consent
OWNER = "mailbox owner"  # the audit's actor before the owner has signed in


class Gone(Exception):
    """The link cannot be used: 404 when unknown, 410 when it ended or expired. The page
    says nothing about the artifact."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@sensitive_variables("token", "query")
def link_url(token: str) -> str:
    query = urlencode({"link": token})
    return f"{settings.PUBLIC_BASE_URL}{reverse('oauthflows:consent')}?{query}"


@sensitive_variables("token")
def create(
    artifact: OAuth2AuthorizationCode, user: Any, actor: str = ""
) -> tuple[ConsentLink, str]:
    """A new link (the artifact's previous one ends), and its token, to be shown once
    (link_url makes the address)."""
    token = secrets.token_urlsafe(CONSENT_LINK_TOKEN_BYTES)
    now = timezone.now()
    with OAuth2AuthorizationCode.locked(artifact.pk) as locked:
        for old in locked.consent_links.filter(ended_at__isnull=True):
            old.end(ConsentLink.End.REPLACED, now)
        name = actor or (user.get_username() if user is not None else AuditEntry.SERVICE)
        link = ConsentLink.objects.create(
            token_hash=digest(token),
            artifact=locked,
            created_by=user,
            created_by_name=name[:150],
            created_at=now,
            expires_at=now + timedelta(hours=settings.CONSENT_LINK_HOURS),
            artifact_fingerprint=locked.authorization_fingerprint(),
        )
        AuditEntry.record(
            locked,
            AuditEntry.Action.CONSENT_LINK_CREATED,
            user,
            actor=actor,
            detail=f"Valid until {link.expires_at:%Y-%m-%d %H:%M} UTC, for {locked.user_name}",
        )
    logger.info("consent link created for %s by %s", artifact.name, name)
    return link, token


def revoke(artifact: OAuth2AuthorizationCode, user: Any, actor: str = "") -> bool:
    """End the artifact's outstanding link early; False if there was none."""
    with OAuth2AuthorizationCode.locked(artifact.pk) as locked:
        links = list(locked.consent_links.filter(ended_at__isnull=True))
        for link in links:
            link.end(ConsentLink.End.REVOKED, timezone.now())
        if links:
            AuditEntry.record(locked, AuditEntry.Action.CONSENT_LINK_REVOKED, user, actor=actor)
    return bool(links)


@sensitive_variables("token")
def mail(artifact: OAuth2AuthorizationCode, token: str, user: Any) -> str:
    """Send the just-created link to the User Name address; the address it went to. The
    token must be the artifact's outstanding link's (the page that showed it sends it back)."""
    link = artifact.consent_links.outstanding()
    if link is None or not hmac.compare_digest(link.token_hash, digest(token)):
        raise Gone(410)
    recipient = artifact.user_name
    if "@" not in recipient:
        raise ValueError("The artifact's User Name is not a mail address.")
    asked_by = user.get_full_name() or user.get_username()
    send_mail(
        f"Consent asked for {artifact.name}",
        f"{asked_by} asks you to sign in as {recipient} and consent, so that the "
        f"integration “{artifact.name}” can use your mailbox.\n\n"
        f"Open this link (valid until {link.expires_at:%Y-%m-%d %H:%M} UTC; it works once):\n"
        f"{link_url(token)}\n\nIf you did not expect this, ignore this mail.",
        settings.DEFAULT_FROM_EMAIL,
        [recipient],
    )
    AuditEntry.record(
        artifact, AuditEntry.Action.CONSENT_LINK_MAILED, user, detail=f"To {recipient}"
    )
    return recipient


@sensitive_variables("token")
def open_link(request: HttpRequest, token: str) -> ConsentLink:
    """The owner opened the link: bind it to this browser's session."""
    if not token or len(token) > 100:
        raise Gone(404)
    link = ConsentLink.objects.select_related("artifact").filter(token_hash=digest(token)).first()
    if link is None:
        raise Gone(404)
    now = timezone.now()
    if not link.usable(now):
        raise Gone(410)
    if link.opened_at is None:
        with transaction.atomic():
            if ConsentLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now):
                AuditEntry.record(link.artifact, AuditEntry.Action.CONSENT_LINK_OPENED, actor=OWNER)
    request.session.cycle_key()  # a fresh session for the owner, whatever came before
    request.session[SESSION_KEY] = link.pk
    return link


def bound(request: HttpRequest) -> ConsentLink:
    """The link this browser opened, while it can be used."""
    pk = request.session.get(SESSION_KEY)
    link = (
        ConsentLink.objects.select_related("artifact", "created_by").filter(pk=pk).first()
        if isinstance(pk, int)
        else None
    )
    if link is None:
        raise Gone(404)
    if not link.usable(timezone.now()):
        raise Gone(410)
    return link


def used(link: ConsentLink, account: str) -> None:
    """The owner consented and the tokens are stored (inside the callback's transaction)."""
    link.end(ConsentLink.End.USED, timezone.now())
    AuditEntry.record(
        link.artifact,
        AuditEntry.Action.CONSENT_LINK_USED,
        actor=account or OWNER,
        detail=f"Created by {link.created_by_name} on {link.created_at:%Y-%m-%d %H:%M} UTC",
    )
