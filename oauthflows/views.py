"""Authorize and the Redirect URL callback: thin views over oauthflows.flow."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from oauthflows import flow
from securitymaterial.models import OAuth2AuthorizationCode

CHANGE = "securitymaterial.change_oauth2authorizationcode"


@require_POST  # a GET link would let another site start a flow in the admin's name
@permission_required(CHANGE, raise_exception=True)
def authorize(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = get_object_or_404(OAuth2AuthorizationCode, pk=pk)
    return redirect(flow.start_authorization(artifact, request))


@require_GET
@never_cache
@permission_required(CHANGE, raise_exception=True)
def callback(request: HttpRequest) -> HttpResponse:
    try:
        outcome = flow.complete_authorization(request)
    except flow.FlowError as error:
        return render(
            request, "oauthflows/callback_error.html", {"error": error}, status=error.status
        )
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    # A clean URL: the code must not stay in the address bar or the history.
    return redirect("securitymaterial:detail", pk=outcome.artifact.pk)
