"""Authorize and the Redirect URL callback: thin views over oauthflows.flow."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from monitoring import logcontext
from oauthflows import client_credentials, consent_views, flow
from securitymaterial.models import OAuth2AuthorizationCode, OAuth2ClientCredentials

# Authorize, Fetch Token and the callback: the Operator role's, not only the editors'.
OPERATE = "securitymaterial.operate_artifact"


@require_POST  # a GET link would let another site start a flow in the admin's name
@permission_required(OPERATE, raise_exception=True)
def authorize(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = get_object_or_404(OAuth2AuthorizationCode, pk=pk)
    logcontext.concerns(artifact.runtime, artifact.name)
    return redirect(flow.start_authorization(artifact, request))


@require_POST
@permission_required(OPERATE, raise_exception=True)
def fetch_token(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin tries the client's settings now, rather than waiting for a consumer."""
    artifact = get_object_or_404(OAuth2ClientCredentials, pk=pk)
    logcontext.concerns(artifact.runtime, artifact.name)
    outcome = client_credentials.fetch_token(artifact.pk, user=request.user)
    artifact.refresh_from_db()
    if outcome.action == "fetched":
        messages.success(request, f"Fetched a token for {artifact.name}; it is deployed.")
    else:
        messages.error(request, f"No token for {artifact.name}: {artifact.status_hint}")
    return redirect("securitymaterial:detail", pk=artifact.pk)


@require_GET
@never_cache
@login_not_required  # the usual login redirect would carry the code into ?next=
def callback(request: HttpRequest) -> HttpResponse:
    if flow.for_consent_link(request):  # the mailbox owner, who has no account here
        return consent_views.consent_callback(request)
    if not request.user.is_authenticated:
        error = flow.FlowError(
            "Your session ended",
            "You were signed out while signing in at the provider, so the authorization "
            "was discarded. Sign in here and choose Authorize again.",
            status=401,
        )
        return render(request, "oauthflows/callback_error.html", {"error": error}, status=401)
    if not request.user.has_perm(OPERATE):
        raise PermissionDenied
    try:
        outcome = flow.complete_authorization(request)
    except flow.FlowError as error:
        return render(
            request, "oauthflows/callback_error.html", {"error": error}, status=error.status
        )
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    # A clean URL: the code must not stay in the address bar or the history.
    return redirect("securitymaterial:detail", pk=outcome.artifact.pk)
