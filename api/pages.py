"""The API Tokens page: create (the token is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from api.forms import ApiTokenForm
from api.models import ApiToken


@sensitive_variables("secret")
@require_http_methods(["GET", "POST"])
@permission_required("api.view_apitoken", raise_exception=True)
def tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    secret = ""
    if request.method == "POST":
        if not request.user.has_perm("api.add_apitoken"):
            raise PermissionDenied
        if form.is_valid():
            # Shown in this answer only: never in a redirect, a message or the session.
            secret = form.create(request.user)
            form = ApiTokenForm()
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.select_related("created_by"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )
    add_never_cache_headers(response)
    return response


@require_POST
@permission_required("api.delete_apitoken", raise_exception=True)
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    token.revoke(request.user)
    messages.success(request, f"Revoked the API token {token.name}. It no longer works.")
    return redirect("api-tokens")
