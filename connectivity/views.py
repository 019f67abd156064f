"""The Connectivity Tests page: tabs SMTP and IMAP; Send runs the check and shows the
outcome and the transcript (never a token)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from connectivity import probes
from connectivity.forms import ConnectivityForm
from securitymaterial.models import Runtime
from securitymaterial.views import posted_form

PROTOCOLS = probes.PROTOCOLS


@require_http_methods(["GET", "POST"])
@permission_required("securitymaterial.operate_artifact", raise_exception=True)
def connectivity_tests(request: HttpRequest) -> HttpResponse:
    protocol = request.GET.get("tab", "smtp")
    runtime = request.GET.get("runtime", Runtime.CLOUD)
    if protocol not in PROTOCOLS:
        raise BadRequest(f"Unknown tab “{protocol[:20]}”. Choose SMTP or IMAP.")
    if runtime not in Runtime.values:
        raise BadRequest(f"Unknown runtime “{runtime[:20]}”.")
    form = ConnectivityForm(
        posted_form(request),
        protocol=protocol,
        runtime=runtime,
        any_host=request.user.has_perm("securitymaterial.change_artifact"),
        initial={"credential_name": request.GET.get("artifact", "")},
    )
    result = None
    if request.method == "POST" and form.is_valid():
        result = probes.run(protocol, form.artifact, form.cleaned_data, request.user)
    response = render(
        request,
        "connectivity/tests.html",
        {
            "form": form,
            "protocol": protocol,
            "protocols": PROTOCOLS,
            "runtime": runtime,
            "result": result,
        },
        status=400 if form.is_bound and form.errors else 429 if result is probes.BUSY else 200,
    )
    add_never_cache_headers(response)
    return response
