"""The three roles (groups made by migration 0006) against every URL of the app and the API.

The table below names, for each route, the permission it needs and what an allowed request
gets. The test fails when a URL exists that the table does not name, so a new page or
endpoint cannot arrive without a decision on who may use it. Every refused request must
leave the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core import serializers
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from api.models import ApiToken
from securitymaterial.models import Artifact, OAuth2AuthorizationCode, OAuth2ClientCredentials
from tests.conftest import CLIENT_SECRET

ROLES = ("anonymous", "Viewer", "Operator", "Administrator")
VIEW, OPERATE = "securitymaterial.view_artifact", "securitymaterial.operate_artifact"
ADD, CHANGE = "securitymaterial.add_artifact", "securitymaterial.change_artifact"
DELETE = "securitymaterial.delete_artifact"
TOKENS, REVOKE = "api.view_apitoken", "api.delete_apitoken"
PUBLIC, API = "public", "api token"  # no login needed; a bearer API token, never a session
METRICS = "metrics token"  # METRICS_TOKEN alone (tests/monitoring); unset here: off for all
LOGIN = "login"  # any signed-in person
ROLE_PERMISSIONS = {
    "anonymous": set(),
    "Viewer": {VIEW},
    "Operator": {VIEW, OPERATE},
    "Administrator": {VIEW, OPERATE, ADD, CHANGE, DELETE, TOKENS, REVOKE},
}
MANAGE = "api/v1/manage/"
KINDS = (
    "user-credentials",
    "secure-parameter",
    "oauth2-client-credentials",
    "oauth2-authorization-code",
)
EVERY = ("GET", "PUT", "DELETE")

# route (as Django spells it) -> {method: (who may, status when allowed)}
ROUTES: dict[str, dict[str, tuple[str, int]]] = {
    "": {"GET": (VIEW, 302)},  # home: on to the Integrations page
    "healthz": {"GET": (PUBLIC, 200)},
    "readyz": {"GET": (PUBLIC, 200)},
    "metrics": {"GET": (METRICS, 403)},
    "oauth2/callback/": {"GET": (OPERATE, 400)},  # no state: a clear 400
    "accounts/login/": {"GET": (PUBLIC, 200)},
    "accounts/logout/": {"POST": (PUBLIC, 302)},
    "monitor/integrations/": {"GET": (VIEW, 200)},
    "monitor/integrations/security-material/": {"GET": (VIEW, 200)},
    "monitor/integrations/security-material/add/<slug:artifact_type>/": {
        "GET": (ADD, 200),
        "POST": (ADD, 400),  # a POST without a form
    },
    "monitor/integrations/security-material/<int:pk>/": {"GET": (VIEW, 200)},
    "monitor/integrations/security-material/<int:pk>/edit/": {
        "GET": (CHANGE, 200),
        "POST": (CHANGE, 400),
    },
    "monitor/integrations/security-material/<int:pk>/delete/": {
        "GET": (DELETE, 200),
        "POST": (DELETE, 302),
    },
    "monitor/integrations/security-material/<int:pk>/authorize/": {"POST": (OPERATE, 302)},
    "monitor/integrations/security-material/<int:pk>/fetch-token/": {"POST": (OPERATE, 302)},
    # Consent by link: what Authorize needs; the link's page for the owner needs no sign-in
    # (without a link opened in this browser: 404).
    "monitor/integrations/security-material/<int:pk>/consent-link/": {"POST": (OPERATE, 200)},
    "monitor/integrations/security-material/<int:pk>/consent-link/mail/": {"POST": (OPERATE, 302)},
    "monitor/integrations/security-material/<int:pk>/consent-link/revoke/": {
        "POST": (OPERATE, 302)
    },
    "consent/": {"GET": (PUBLIC, 404), "POST": (PUBLIC, 404)},
    "consent/recorded/": {"GET": (PUBLIC, 404)},
    "monitor/integrations/connectivity-tests/": {"GET": (OPERATE, 200), "POST": (OPERATE, 400)},
    "monitor/integrations/api-tokens/": {"GET": (TOKENS, 200)},
    "monitor/integrations/api-tokens/<int:pk>/revoke/": {"POST": (REVOKE, 302)},
    "api/v1/docs": {"GET": (LOGIN, 200)},
    "api/v1/openapi.json": {"GET": (PUBLIC, 200)},
    "api/v1/": {"GET": (PUBLIC, 404)},  # django-ninja's root: nothing there
    "api/v1/security-material/<name>/access-token": {"GET": (API, 401)},
    "api/v1/security-material/<name>": {"GET": (API, 401)},
    "api/v1/manage/security-material": {"GET": (API, 401)},
    **{f"{MANAGE}{kind}": {"POST": (API, 401)} for kind in KINDS},
    **{
        f"{MANAGE}{kind}/<name>": {m: (API, 401) for m in ("GET", "PUT", "DELETE")}
        for kind in KINDS
    },
    f"{MANAGE}oauth2-authorization-code": {"POST": (API, 401)},
    f"{MANAGE}oauth2-authorization-code/<name>": {m: (API, 401) for m in ("GET", "PUT", "DELETE")},
    f"{MANAGE}oauth2-authorization-code/<name>/consent-link": {
        "POST": (API, 401),
        "DELETE": (API, 401),
    },
}
# Not the login page: the provider sends the browser back here, and a session that ended
# meanwhile is told so (the login redirect would carry the code into ?next=).
ANONYMOUS = {"oauth2/callback/": 401}


def app_routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":  # Django's admin: staff only, its own tests
                yield from app_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_the_table_names_every_url_of_the_app_and_the_api() -> None:
    assert set(app_routes(get_resolver().url_patterns)) == set(ROUTES)


@pytest.mark.django_db
def test_the_migration_made_the_three_roles() -> None:
    for role in ROLES[1:]:
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }
        assert ROLE_PERMISSIONS[role] <= granted
        # The Operator may not add, edit or delete; the Viewer only looks.
        if role != "Administrator":
            assert not granted & {ADD, CHANGE, DELETE, TOKENS, REVOKE}, role


def snapshot() -> str:
    """Everything a request could change, as the database holds it."""
    models = [
        *apps.get_app_config("securitymaterial").get_models(),
        *apps.get_app_config("oauthflows").get_models(),
        *apps.get_app_config("api").get_models(),
        Group,
    ]
    rows = [row for model in models for row in model.objects.order_by("pk")]
    return serializers.serialize("json", rows)


def url_for(route: str, artifacts: dict[str, Artifact], token: ApiToken) -> str:
    pk = artifacts["client" if "fetch-token" in route else "code"].pk
    path = (
        route.replace("<slug:artifact_type>", "oauth2-authorization-code")
        .replace("<int:pk>/revoke", f"{token.pk}/revoke")
        .replace("<int:pk>", str(pk))
        .replace("<name>", artifacts["code"].name)
    )
    return "/" + path


@pytest.fixture
def artifacts(db: None, settings: Any) -> dict[str, Artifact]:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = True
    code = OAuth2AuthorizationCode.objects.create(
        name="Mailer",
        provider="generic",
        authorization_url="https://auth.example.com/authorize",
        token_service_url="https://auth.example.com/token",
        client_id="client-1",
        client_secret=CLIENT_SECRET,
        scope="read",
    )
    client = OAuth2ClientCredentials.objects.create(
        name="Machine",
        token_service_url="http://127.0.0.1:9/token",  # the discard port: refused at once
        client_id="client-2",
        client_secret=CLIENT_SECRET,
        custom_parameters_json="[]",
    )
    return {"code": code, "client": client}


@pytest.fixture
def as_role(db: None) -> Callable[[str], Client]:
    def login(role: str) -> Client:
        client = Client()
        if role != "anonymous":
            user = User.objects.create(username=role.lower())  # no password to hash
            user.groups.add(Group.objects.get(name=role))
            client.force_login(user)
        return client

    return login


CASES = [
    (route, method, role)
    for route, methods in ROUTES.items()
    for method in methods
    for role in ROLES
]


@pytest.mark.parametrize(("route", "method", "role"), CASES)
def test_each_role_gets_what_it_may_and_a_refusal_changes_nothing(
    artifacts: dict[str, Artifact],
    as_role: Callable[[str], Client],
    route: str,
    method: str,
    role: str,
) -> None:
    who, allowed_status = ROUTES[route][method]
    token, _ = ApiToken.create("consumer")
    client = as_role(role)
    url = url_for(route, artifacts, token)
    before = snapshot()
    response = client.generic(method, url)
    if who == API:  # a session, of any role, counts for nothing there
        assert response.status_code == 401, (url, role)
    elif who in (METRICS, PUBLIC):
        assert response.status_code == allowed_status, (url, role)
    elif role == "anonymous" and route in ANONYMOUS:
        assert response.status_code == ANONYMOUS[route], (url, role)
    elif role == "anonymous":
        assert response.status_code == 302, (url, role)
        assert response["Location"].startswith("/accounts/login/"), (url, role)
    elif who == LOGIN or who in ROLE_PERMISSIONS[role]:
        assert response.status_code == allowed_status, (url, role, method)
        return
    else:
        assert response.status_code == 403, (url, role, method)
    assert snapshot() == before, (url, role, method)


def test_an_operator_sees_authorize_and_the_tests_but_no_control_that_edits(
    artifacts: dict[str, Artifact], as_role: Callable[[str], Client]
) -> None:
    operator = as_role("Operator")
    code = artifacts["code"]
    listing = operator.get("/monitor/integrations/security-material/").content.decode()
    assert ">Authorize</button>" in listing
    for control in (">Add</button>", ">Edit<", ">Delete<"):
        assert control not in listing
    tiles = operator.get("/monitor/integrations/").content.decode()
    assert 'href="/monitor/integrations/connectivity-tests/?runtime=cloud"' in tiles
    client_page = operator.get(f"/monitor/integrations/security-material/{artifacts['client'].pk}/")
    assert ">Fetch Token</button>" in client_page.content.decode()
    viewer = as_role("Viewer").get(f"/monitor/integrations/security-material/{code.pk}/")
    assert ">Authorize</button>" not in viewer.content.decode()


CHANGING = [
    (route, method)
    for route, methods in ROUTES.items()
    for method, (who, _) in methods.items()
    if method != "GET" and who not in (API, METRICS)  # bearer tokens, not cookies
]


@pytest.mark.parametrize(("route", "method"), CHANGING)
def test_every_change_needs_the_csrf_token_even_for_an_administrator(
    artifacts: dict[str, Artifact], as_role: Callable[[str], Client], route: str, method: str
) -> None:
    token, _ = ApiToken.create("consumer")
    client = as_role("Administrator")
    client.handler.enforce_csrf_checks = True  # as a browser on another site would post
    before = snapshot()
    response = client.generic(method, url_for(route, artifacts, token))
    assert response.status_code == 403, (route, method)
    assert snapshot() == before
