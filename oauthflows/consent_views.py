"""Consent by link (oauthflows.consent): the admin's buttons on the detail page, and the
owner's pages, the only pages here without a sign-in. Those are throttled per address,
never cached, send no Referer onward and show no secret and no token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from axes.helpers import get_client_ip_address  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from oauthflows import consent, flow
from oauthproviders import PROVIDERS
from securitymaterial.models import OAuth2AuthorizationCode

OPERATE = "securitymaterial.operate_artifact"  # the same permission as Authorize


def owner_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """No sign-in; CONSENT_PAGES_PER_MINUTE requests a minute per address (then 429);
    no-store. Referrer-Policy stays same-origin (SECURE_REFERRER_POLICY): the provider gets
    no Referer, and the button's POST keeps its Origin for the CSRF check (no-referrer would
    send "Origin: null"). The addresses these pages have carry no token."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = f"consent-pages:{get_client_ip_address(request)}"
        cache.add(key, 0, timeout=60)
        try:
            seen = cache.incr(key)
        except ValueError:  # expired between add and incr
            seen = 1
        if seen > settings.CONSENT_PAGES_PER_MINUTE:
            response = _gone(request, 429)
            response["Retry-After"] = "60"
        else:
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return login_not_required(wrapped)


def _gone(request: HttpRequest, status: int) -> HttpResponse:
    """The same plain page for an unknown, ended or expired link: nothing about the artifact."""
    return render(request, "oauthflows/consent_gone.html", {"status": status}, status=status)


@owner_page
@require_http_methods(["GET", "HEAD", "POST"])
def consent_page(request: HttpRequest) -> HttpResponse:
    """GET ?link=…: the owner opens the link (bound to this browser, then a clean address).
    GET: what they are asked to consent to. POST: Sign in and consent."""
    try:
        if "link" in request.GET:
            consent.open_link(request, request.GET["link"])
            return redirect("oauthflows:consent")
        link = consent.bound(request)
    except consent.Gone as gone:
        return _gone(request, gone.status)
    artifact = link.artifact
    if request.method == "POST":
        return redirect(flow.start_authorization(artifact, request, link))
    provider = PROVIDERS[artifact.provider]
    return render(
        request,
        "oauthflows/consent.html",
        {
            "link": link,
            "artifact": artifact,
            "provider": provider,
            "scopes": provider.explain_scope(artifact.scope),
        },
    )


@owner_page
@require_http_methods(["GET", "HEAD"])
def consent_recorded(request: HttpRequest) -> HttpResponse:
    name = request.session.get(consent.RECORDED_KEY)
    if not isinstance(name, str):
        return _gone(request, 404)
    return render(request, "oauthflows/consent_recorded.html", {"name": name})


def consent_callback(request: HttpRequest) -> HttpResponse:
    """The Redirect URL, reached by the owner (oauthflows.views.callback hands it here)."""
    try:
        outcome = flow.complete_authorization(request)
    except flow.FlowError as error:
        response = render(
            request,
            "oauthflows/callback_error.html",
            {"error": error, "owner": True},
            status=error.status,
        )
    else:
        if outcome.ok:
            request.session.pop(consent.SESSION_KEY, None)
            request.session[consent.RECORDED_KEY] = outcome.artifact.name
            response = redirect("oauthflows:consent-recorded")
        else:
            messages.error(request, outcome.message)
            response = redirect("oauthflows:consent")  # the link stays usable
    add_never_cache_headers(response)
    return response


# The admin's side, on the artifact's detail page.


def _artifact(pk: int) -> OAuth2AuthorizationCode:
    return get_object_or_404(OAuth2AuthorizationCode, pk=pk)


@require_POST
@permission_required(OPERATE, raise_exception=True)
@sensitive_variables("token", "response")
def create_link(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _artifact(pk)
    if not artifact.awaits_consent:
        messages.error(request, f"{artifact.name} is authorized: it needs no consent link.")
        return redirect("securitymaterial:detail", pk=pk)
    link, token = consent.create(artifact, request.user)
    # Shown this once (never kept: the database holds only its hash).
    response = render(
        request,
        "oauthflows/consent_link_created.html",
        {"artifact": artifact, "link": link, "url": consent.link_url(token), "token": token},
    )
    add_never_cache_headers(response)
    return response


@require_POST
@permission_required(OPERATE, raise_exception=True)
@sensitive_post_parameters("link")
def mail_link(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _artifact(pk)
    try:
        recipient = consent.mail(artifact, request.POST.get("link", ""), request.user)
    except consent.Gone:
        messages.error(request, "That consent link has ended; create a new one.")
    except ValueError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"The consent link was sent to {recipient}.")
    return redirect("securitymaterial:detail", pk=pk)


@require_POST
@permission_required(OPERATE, raise_exception=True)
def revoke_link(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _artifact(pk)
    if consent.revoke(artifact, request.user):
        messages.success(request, f"The consent link of {artifact.name} no longer works.")
    else:
        messages.info(request, f"{artifact.name} has no consent link to revoke.")
    return redirect("securitymaterial:detail", pk=pk)
