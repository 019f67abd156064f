"""The management API: list, read, create, change and delete artifacts of every type as
JSON, for API tokens that may manage (what the platform's public Security Content API
offers, plus the OAuth2 Authorization Code type it lacks).

Input goes through the same forms as the pages (one set of rules, one audit path), so the
request schemas are generated from those forms. Secrets are write-only: always null when
read, kept when left out of a change (except a Client Credentials secret, which every
change must carry, as on the page). Authorize stays in the browser: it needs a person.
"""

# No `from __future__ import annotations` here: django-ninja reads the request schema from
# each endpoint's annotations, and these schemas are made per type at import time.
from datetime import datetime
from typing import Any, Literal

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.base import Error, RuntimeQuery, api, find, granted, shown_name
from api.models import ApiToken
from oauthflows import consent
from securitymaterial import services
from securitymaterial.forms import FORMS, ArtifactForm
from securitymaterial.forms.client_credentials import CustomParameterFormSet
from securitymaterial.models import (
    TYPES,
    Artifact,
    ArtifactType,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    Runtime,
    SendAsPartOf,
)

router = Router(tags=["manage"])


class FieldErrors(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="By field; absent when the body is not JSON at all"
    )


class Summary(Schema):
    name: str
    type: ArtifactType
    runtime: Runtime
    description: str
    status: str
    status_reason: str
    deployed_by: str | None
    deployed_on: datetime


class ListQuery(RuntimeQuery):
    type: ArtifactType | None = None


class CustomParameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=100)
    value: str | None = Field(
        "",
        max_length=2000,
        description="Write-only: null when read; null or empty on a "
        "change keeps the stored value of the same key and part",
    )
    send_as: Literal["body", "header", "url"] = SendAsPartOf.BODY.value  # type: ignore[assignment]


def _python_type(field: forms.Field) -> Any:
    if isinstance(field, forms.BooleanField):
        return bool | None
    if isinstance(field, forms.IntegerField):
        return int | None
    return str | None


def _schemas(
    kind: str, form: type[ArtifactForm]
) -> tuple[type[BaseModel], type[BaseModel], type[BaseModel]]:
    """The create request, the change request and the answer of one type, from its form's
    fields. A create must send what the form requires and has no default for; a change
    sends only what changes."""
    label = "".join(part.title() for part in kind.split("-"))
    secrets = set(form.SECRET_FIELDS)
    form_fields = {
        name: field
        for name, field in form.base_fields.items()
        if name != "repeat_value"  # the API sends a secure parameter once
    }
    fields = {
        name: (_python_type(field), Field(None, description=str(field.help_text or "")))
        for name, field in form_fields.items()
    }
    needed = {
        name: (str, Field(description=str(field.help_text or "")))
        for name, field in form_fields.items()
        if field.required and field.initial in (None, "")
    }
    extra: dict[str, Any] = {}
    if kind == ArtifactType.OAUTH2_CLIENT_CREDENTIALS:
        extra["custom_parameters"] = (list[CustomParameter] | None, None)
    answer_fields: dict[str, Any] = {
        **{name: spec for name, spec in fields.items() if name not in secrets},
        **{name: (None, Field(None, description="write-only")) for name in secrets},
        **extra,
    }
    config = ConfigDict(extra="forbid")
    create = create_model(f"{label}New", __config__=config, **{**fields, **needed, **extra})
    change = create_model(f"{label}Change", __config__=config, **{**fields, **extra})
    answer = create_model(f"{label}Out", __base__=Summary, **answer_fields)
    return create, change, answer


def _manager(request: HttpRequest) -> ApiToken:
    return granted(request, "can_manage")


def _actor(token: ApiToken) -> str:
    return f"API token “{token.name}”"


def summary(artifact: Artifact) -> dict[str, Any]:
    return {
        "name": artifact.name,
        "type": artifact.kind,
        "runtime": artifact.runtime,
        "description": artifact.description,
        "status": artifact.get_status_display(),
        "status_reason": artifact.status_hint,
        "deployed_by": artifact.deployed_by.get_username() if artifact.deployed_by else None,
        "deployed_on": artifact.deployed_on,
    }


def describe(artifact: Artifact) -> dict[str, Any]:
    form = FORMS[artifact.kind]
    answer = summary(artifact)
    for name in form.base_fields:
        if name not in answer and name != "repeat_value":
            answer[name] = None if name in form.SECRET_FIELDS else getattr(artifact, name)
    if isinstance(artifact, OAuth2ClientCredentials):
        answer["custom_parameters"] = [
            {**parameter, "value": None} for parameter in artifact.custom_parameters
        ]
    return answer


# Values the API took before they were renamed, still taken (answers give the new ones).
LEGACY_VALUES: dict[str, dict[str, str]] = {"client_authentication": {"header": "basic"}}


def _form_data(
    form: type[ArtifactForm], payload: dict[str, Any], current: Artifact | None
) -> QueryDict:
    """The JSON as the form would have been posted: what is left out keeps its value, or
    gets the form's default on create."""
    data = QueryDict(mutable=True)
    defaults = form()
    for name, field in form.base_fields.items():
        value = payload.get(name)
        if value is None and name not in form.SECRET_FIELDS:
            value = (
                getattr(current, name, None)
                if current is not None
                else defaults.get_initial_for_field(defaults.fields[name], name)
            )
        if name == "repeat_value":
            value = payload.get("value")
        if isinstance(value, str):
            value = LEGACY_VALUES.get(name, {}).get(value, value)
        if isinstance(field, forms.BooleanField):
            value = "on" if value else ""
        data[name] = "" if value is None else str(value)
    if form is FORMS[ArtifactType.OAUTH2_CLIENT_CREDENTIALS]:
        parameters = payload.get("custom_parameters")
        if parameters is None:
            # Left out: the stored rows, their values blank as the edit page shows them, so
            # the form keeps them under the same rule (a moved origin needs them again).
            parameters = [
                {**parameter, "value": ""}
                for parameter in getattr(current, "custom_parameters", [])
            ]
        data.update(CustomParameterFormSet.post_data(parameters))
    return data


def _errors(form: ArtifactForm) -> HttpResponse:
    errors = {
        ("request" if field == "__all__" else field): [str(e) for e in messages]
        for field, messages in form.errors.items()
    }
    parameters = getattr(form, "parameters", None)
    if parameters is not None and parameters.is_bound:
        for index, row in enumerate(parameters.errors):
            for field, messages in row.items():
                errors[f"custom_parameters.{index}.{field}"] = [str(e) for e in messages]
        if parameters.non_form_errors():
            errors["custom_parameters"] = [str(e) for e in parameters.non_form_errors()]
    detail = "Nothing was changed. Correct: " + ", ".join(errors)
    return api.create_response(None, {"detail": detail[:500], "errors": errors}, status=400)  # type: ignore[arg-type]


def _conflict(name: str, runtime: str) -> HttpError:
    return HttpError(409, f"An artifact named “{name}” already exists in {Runtime(runtime).label}.")


@router.get(
    "/security-material",
    response={200: list[Summary], 400: Error, 401: Error, 403: Error},
    summary="Every artifact the API token may see, by name",
)
def list_artifacts(request: HttpRequest, query: Query[ListQuery]) -> Any:
    token = _manager(request)
    artifacts = Artifact.objects.filter(runtime=query.runtime).select_related("deployed_by")
    if query.type:
        artifacts = artifacts.filter(kind=query.type)
    return [summary(a) for a in artifacts.order_by("name") if token.allows(query.runtime, a.name)]


def _register(kind: str, form: type[ArtifactForm]) -> None:
    create_schema, change_schema, answer_schema = _schemas(kind, form)
    label = ArtifactType(kind).label
    operation = kind.replace("-", "_")

    @router.post(
        f"/{kind}",
        response={201: answer_schema, 400: FieldErrors, 401: Error, 403: Error, 409: Error},
        summary=f"Create {label}",
        operation_id=f"create_{operation}",
    )
    def create(request: HttpRequest, body: create_schema, query: Query[RuntimeQuery]) -> Any:  # type: ignore[valid-type]
        token = _manager(request)
        payload = body.model_dump()  # type: ignore[attr-defined]
        name = str(payload.get("name") or "")
        if not token.allows(query.runtime, name):
            raise HttpError(403, f"The API token “{token.name}” may not use “{shown_name(name)}”.")
        bound = form(_form_data(form, payload, None), runtime=query.runtime)
        if not bound.is_valid():
            if bound.has_error("name", "taken"):
                raise _conflict(name, query.runtime)
            return _errors(bound)
        artifact = services.deploy_new(bound, None, actor=_actor(token))
        if artifact is None:
            raise _conflict(name, query.runtime)
        return Status(201, describe(artifact))

    @router.get(
        f"/{kind}/{{name}}",
        response={200: answer_schema, 400: Error, 401: Error, 403: Error, 404: Error},
        summary=f"Read {label} (secrets are null)",
        operation_id=f"read_{operation}",
    )
    def read(request: HttpRequest, name: str, query: Query[RuntimeQuery]) -> Any:
        return describe(_typed(request, kind, name, query.runtime))

    @router.put(
        f"/{kind}/{{name}}",
        response={200: answer_schema, 400: FieldErrors, 401: Error, 403: Error, 404: Error},
        summary=f"Change {label}",
        operation_id=f"update_{operation}",
    )
    def update(
        request: HttpRequest,
        name: str,
        body: change_schema,  # type: ignore[valid-type]
        query: Query[RuntimeQuery],
    ) -> Any:
        token = _manager(request)
        artifact = _typed(request, kind, name, query.runtime)
        payload = body.model_dump()  # type: ignore[attr-defined]
        if payload.get("name") not in (None, artifact.name):
            message = "The name cannot be changed: integrations find the artifact by it."
            return api.create_response(
                request,
                {"detail": f"Nothing was changed. {message}", "errors": {"name": [message]}},
                status=400,
            )
        payload["name"] = artifact.name
        bound = form(_form_data(form, payload, artifact), instance=artifact)
        if not bound.is_valid():
            return _errors(bound)
        services.redeploy(bound, None, actor=_actor(token))
        return describe(Artifact.objects.get(pk=artifact.pk).typed())

    @router.delete(
        f"/{kind}/{{name}}",
        response={204: None, 400: Error, 401: Error, 403: Error, 404: Error},
        summary=f"Delete {label}",
        operation_id=f"delete_{operation}",
    )
    def delete(request: HttpRequest, name: str, query: Query[RuntimeQuery]) -> Any:
        token = _manager(request)
        services.delete(_typed(request, kind, name, query.runtime), None, actor=_actor(token))
        return Status(204, None)


def _typed(request: HttpRequest, kind: str, name: str, runtime: str) -> Artifact:
    token = _manager(request)
    artifact = find(token, runtime, name, TYPES[kind])
    if artifact.kind != kind:
        raise HttpError(
            404, f"“{artifact.name}” is {artifact.type_label}, not {ArtifactType(kind).label}."
        )
    return artifact


for _kind, _form in FORMS.items():
    _register(_kind, _form)


class ConsentLinkAnswer(Schema):
    consent_link: str = Field(description="Shown this once: only its hash is kept")
    expires_at: datetime
    user_name: str = Field(description="The account the owner must sign in as")


CODE = ArtifactType.OAUTH2_AUTHORIZATION_CODE.value


@router.post(
    f"/{CODE}/{{name}}/consent-link",
    response={201: ConsentLinkAnswer, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error},
    summary="Create a consent link for the mailbox owner (replaces an outstanding one)",
)
def create_consent_link(request: HttpRequest, name: str, query: Query[RuntimeQuery]) -> Any:
    """The owner opens the link in any browser, signs in at the provider as User Name and
    consents; no account here is needed. It works once, for CONSENT_LINK_HOURS."""
    token = _manager(request)
    artifact = _typed(request, CODE, name, query.runtime)
    assert isinstance(artifact, OAuth2AuthorizationCode)
    if not artifact.awaits_consent:
        raise HttpError(409, f"“{artifact.name}” is authorized: it needs no consent link.")
    link, secret = consent.create(artifact, None, actor=_actor(token))
    return Status(
        201,
        {
            "consent_link": consent.link_url(secret),
            "expires_at": link.expires_at,
            "user_name": artifact.user_name,
        },
    )


@router.delete(
    f"/{CODE}/{{name}}/consent-link",
    response={204: None, 400: Error, 401: Error, 403: Error, 404: Error},
    summary="Revoke the artifact's consent link",
)
def revoke_consent_link(request: HttpRequest, name: str, query: Query[RuntimeQuery]) -> Any:
    token = _manager(request)
    artifact = _typed(request, CODE, name, query.runtime)
    assert isinstance(artifact, OAuth2AuthorizationCode)
    if not consent.revoke(artifact, None, actor=_actor(token)):
        raise HttpError(404, f"“{artifact.name}” has no consent link to revoke.")
    return Status(204, None)
