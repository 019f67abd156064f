"""The API's pages: API Tokens (create, shown once; list; revoke) and the API description."""

from __future__ import annotations

from typing import Any

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
from api.operations import api
from securitymaterial.views import posted_form


@sensitive_variables("secret")
@require_http_methods(["GET", "POST"])
@permission_required("api.view_apitoken", raise_exception=True)
def tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(posted_form(request))
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


@require_http_methods(["GET"])
def description(request: HttpRequest) -> HttpResponse:
    """The generated OpenAPI description, rendered as a page of operations."""
    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [_parameter(p) for p in operation.get("parameters", [])],
                    "responses": [
                        (code, answer.get("description", ""), _schema_name(answer))
                        for code, answer in sorted(operation["responses"].items())
                    ],
                }
            )
    return render(
        request,
        "api/description.html",
        {
            "info": schema["info"],
            "openapi": schema["openapi"],
            "operations": operations,
            "schemas": schema.get("components", {}).get("schemas", {}),
        },
    )


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    schema = parameter.get("schema", {})
    kind = schema.get("type") or next(
        (part.get("type") for part in schema.get("allOf", [])), "string"
    )
    values = schema.get("enum") or next(
        (part.get("enum") for part in schema.get("allOf", []) if "enum" in part), None
    )
    limits = [
        f"{name} {schema[key]}"
        for key, name in (("minimum", "from"), ("maximum", "to"))
        if key in schema
    ]
    return {
        "name": parameter["name"],
        "where": parameter["in"],
        "required": parameter.get("required", False),
        "type": kind,
        "values": ", ".join(map(str, values)) if values else "",
        "default": schema.get("default", ""),
        "limits": " ".join(limits),
        "description": parameter.get("description", ""),
    }


def _schema_name(answer: dict[str, Any]) -> str:
    ref = str(
        answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    )
    return ref.rsplit("/", 1)[-1]


@require_POST
@permission_required("api.delete_apitoken", raise_exception=True)
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    token.revoke(request.user)
    messages.success(request, f"Revoked the API token {token.name}. It no longer works.")
    return redirect("api:tokens")
