"""Thin views over the catalogue: parse input, call a service, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from securitymaterial import listing, services
from securitymaterial.forms import FORMS, ArtifactForm
from securitymaterial.models import (
    Artifact,
    ArtifactCount,
    ArtifactType,
    OAuth2AuthorizationCode,
    Runtime,
)
from securitymaterial.providers import redirect_url
from securitymaterial.timeline import timeline
from securitymaterial.validators import CONTROL_RE

PERM = "securitymaterial.{}_artifact"
FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def _runtime(request: HttpRequest) -> str:
    value = request.GET.get("runtime", Runtime.CLOUD)
    if value not in Runtime.values:
        raise BadRequest(
            f"Unknown runtime “{value[:40]}”. Choose one of: "
            + ", ".join(f"{v} ({label})" for v, label in Runtime.choices)
            + "."
        )
    return value


def _sort(request: HttpRequest) -> str:
    value = request.GET.get("sort", "name")
    if value.removeprefix("-") not in listing.SORTS:
        sorts = ", ".join(listing.SORTS)
        raise BadRequest(f"Cannot sort by “{value[:40]}”. Sort by one of: {sorts}.")
    return value


def _type_filter(request: HttpRequest) -> str:
    value = request.GET.get("type", "")
    if value and value not in ArtifactType.values:
        raise BadRequest(
            f"Unknown type “{value[:40]}”. Filter by one of: {', '.join(ArtifactType.values)}."
        )
    return value


def _name_filter(request: HttpRequest) -> str:
    query = request.GET.get("q", "").strip()[:150]
    if CONTROL_RE.search(query):  # no name holds one, and PostgreSQL refuses NUL in text
        raise BadRequest("The name filter cannot contain control characters.")
    return query


def posted_form(request: HttpRequest) -> QueryDict | None:
    """The posted form, or None for a GET. Anything but a form body is refused: Django
    would parse it as an empty form and show a blank page without a word."""
    if request.method != "POST":
        return None
    if request.content_type not in FORM_CONTENT_TYPES:
        raise BadRequest(
            f"Send the form as application/x-www-form-urlencoded, not as "
            f"“{(request.content_type or '')[:60]}”. Nothing was changed."
        )
    return request.POST


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # BadRequest messages are ours and meant for the admin; others (e.g. a too-large
    # upload) get a generic explanation.
    if isinstance(exception, BadRequest):
        message = str(exception)
    elif isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
        message = (
            f"The request is larger than this service accepts ({limit:.1f} MB); no field of "
            "the form needs that much. Nothing was changed."
        )
    elif isinstance(exception, TooManyFieldsSent):
        message = "The request has more fields than any form here. Nothing was changed."
    else:
        message = ""
    body = loader.render_to_string("400.html", {"message": message}, request)
    return HttpResponseBadRequest(body)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("securitymaterial:integrations")


@permission_required(PERM.format("view"), raise_exception=True)
def integrations(request: HttpRequest) -> HttpResponse:
    runtime = _runtime(request)
    total, need_person = ArtifactCount.counts(runtime)
    return render(
        request,
        "securitymaterial/integrations.html",
        {
            "runtime": runtime,
            "runtimes": Runtime.choices,
            "security_material_count": total,
            "need_person_count": need_person,
        },
    )


@permission_required(PERM.format("view"), raise_exception=True)
def artifact_list(request: HttpRequest) -> HttpResponse:
    runtime, sort = _runtime(request), _sort(request)
    kind = _type_filter(request)
    query = _name_filter(request)
    artifacts = Artifact.objects.filter(runtime=runtime)
    if query:
        artifacts = artifacts.filter(name__icontains=query)
    if kind:
        artifacts = artifacts.filter(kind=kind)
    # Without a name filter the maintained count, not a scan of every row.
    total = None if query else ArtifactCount.counts(runtime, kind)[0]
    page = listing.page(artifacts, sort, request.GET, total)
    return render(
        request,
        "securitymaterial/list.html",
        {
            "runtime": runtime,
            "runtime_label": Runtime(runtime).label,
            "page": page,
            "query": query,
            "sort": sort,
            "kind": kind,
            "kind_label": ArtifactType(kind).label if kind else "",
            "artifact_types": ArtifactType.choices,
        },
    )


def _get_artifact(pk: int) -> Artifact:
    """The artifact as an instance of its type."""
    return get_object_or_404(Artifact.objects.select_related("deployed_by"), pk=pk).typed()


@permission_required(PERM.format("view"), raise_exception=True)
def artifact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _get_artifact(pk)
    audit = artifact.audit_entries.select_related("actor")[:50]
    return render(
        request,
        # Each type's page extends securitymaterial/detail.html with its own attributes.
        f"securitymaterial/detail/{artifact.kind}.html",
        {
            "artifact": artifact,
            "audit_entries": audit,
            "redirect_url": redirect_url(),
            "timeline": (
                timeline(artifact, timezone.now())
                if isinstance(artifact, OAuth2AuthorizationCode)
                else None
            ),
        },
    )


def _form_page(request: HttpRequest, form: ArtifactForm, **context: Any) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "securitymaterial/form.html",
        {"form": form, "title": form.title, **form.layout_context(), **context},
        status=status,
    )


@sensitive_post_parameters()  # every field: custom parameter values may be keys too
@require_http_methods(["GET", "POST"])
@permission_required(PERM.format("add"), raise_exception=True)
def artifact_add(request: HttpRequest, artifact_type: str) -> HttpResponse:
    if artifact_type not in FORMS:
        raise BadRequest(
            f"Unknown artifact type “{artifact_type[:40]}”. Add one of: "
            f"{', '.join(ArtifactType.values)}."
        )
    runtime = _runtime(request)
    form = FORMS[artifact_type](posted_form(request), runtime=runtime)
    if request.method == "POST" and form.is_valid():
        artifact = services.deploy_new(form, request.user)
        if artifact is not None:
            _deployed_message(request, artifact, form)
            return redirect(artifact_list_url(runtime))
    return _form_page(request, form, runtime=runtime)


@sensitive_post_parameters()  # every field: custom parameter values may be keys too
@require_http_methods(["GET", "POST"])
@permission_required(PERM.format("change"), raise_exception=True)
def artifact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _get_artifact(pk)
    form = FORMS[artifact.kind](posted_form(request), instance=artifact)
    if request.method == "POST" and form.is_valid():
        if services.redeploy(form, request.user):
            _deployed_message(request, artifact, form)
        else:
            messages.info(request, f"Nothing changed in {artifact.name}.")
        return redirect("securitymaterial:detail", pk=artifact.pk)
    return _form_page(request, form, runtime=artifact.runtime, artifact=artifact)


@require_http_methods(["GET", "POST"])
@permission_required(PERM.format("delete"), raise_exception=True)
def artifact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    artifact = _get_artifact(pk)
    if request.method == "POST":
        services.delete(artifact, request.user)
        messages.success(request, f"Deleted {artifact.name}.")
        return redirect(artifact_list_url(artifact.runtime))
    return render(request, "securitymaterial/confirm_delete.html", {"artifact": artifact})


def artifact_list_url(runtime: str) -> str:
    return f"{reverse('securitymaterial:list')}?runtime={runtime}"


def _deployed_message(request: HttpRequest, artifact: Artifact, form: ArtifactForm) -> None:
    messages.success(request, " ".join([f"Deployed {artifact.name}.", *form.deployed_notes()]))
