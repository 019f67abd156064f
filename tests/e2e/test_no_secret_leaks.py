"""The whole life of an artifact (add, authorize, refresh, Connectivity Tests over SMTP and
IMAP, a failed refresh, the consumer and management APIs under gunicorn, consent by link, a
client-credentials artifact with custom parameters, a Celery message, a forced 500, key
rotation, delete), then a search for every secret it ever had in everything that could keep
one: a full dump of the database, every log line (ours at DEBUG, the rest at WARNING),
gunicorn's access log, the web process's own JSON log at DEBUG, /metrics, every page the
browser saw, every message that went through Redis, and Django's DEBUG error page of a forced
failure.

The secrets: the client secret, the PKCE verifiers, the authorization codes, every access and
refresh token the provider issued, a consent link's token (created, mailed, opened, used and
replayed), the API tokens, a client-credentials secret, its custom parameters' values (a
header and a body parameter), the access token it fetched, and the metrics token. Where a
secret is the answer (the consumer API hands out the access token, the page that creates a
consent link shows it once) that answer is not searched; everything else is.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client
from playwright.sync_api import Page, Request, expect

from api.models import ApiToken
from config.celery import app
from config.logs import JsonFormatter
from oauthflows import refresh, tasks
from oauthflows.models import AuthorizationState
from securitymaterial.models import OAuth2AuthorizationCode, OAuth2ClientCredentials
from tests.conftest import TEST_KEY
from tests.e2e.test_authorize_in_browser import CLIENT_SECRET, deploy
from tests.e2e.test_deploy_in_browser import sign_in_as_admin
from tests.support.mailservers import MAILBOX, ImapServer, SubmissionServer
from tests.support.oauth_server import PASSWORD as PROVIDER_PASSWORD
from tests.support.oauth_server import USER as PROVIDER_USER
from tests.support.oauth_server import OAuthServer
from tests.support.processes import gunicorn_process, said, test_database_url

METRICS_TOKEN = "metrics-token-of-the-leak-probe-5e1f"
BROKER = "redis://127.0.0.1:6379/13"  # no worker listens here: messages stay to be read
NAME = "Leak_Probe"
CLIENT_ID = "leak-probe"
MACHINE_SECRET = "MACHINE-SECRET-7d2f9a"
HEADER_VALUE = "CUSTOM-HEADER-VALUE-3c81e0"
BODY_VALUE = "CUSTOM-BODY-VALUE-9a04d7"
CUSTOM_PARAMETERS = [
    {"key": "X-Api-Key", "value": HEADER_VALUE, "send_as": "header"},
    {"key": "x_subscription_key", "value": BODY_VALUE, "send_as": "body"},
]


@pytest.fixture
def logs() -> Iterator[tuple[StringIO, StringIO]]:
    """Our loggers at DEBUG, everyone else's at WARNING, formatted as the service logs: the
    plain lines and the JSON objects (LOG_FORMAT=json) both."""
    plain, as_json = StringIO(), StringIO()
    handlers = [logging.StreamHandler(plain), logging.StreamHandler(as_json)]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("securitymaterial", "oauthflows", "api")]
    before = root.level, [logger.level for logger in ours]
    root.setLevel(logging.WARNING)
    for handler in handlers:
        root.addHandler(handler)
        for logger in ours:
            logger.addHandler(handler)
    for logger in ours:
        logger.setLevel(logging.DEBUG)
    try:
        yield plain, as_json
    finally:
        root.setLevel(before[0])
        for handler in handlers:
            root.removeHandler(handler)
            for logger in ours:
                logger.removeHandler(handler)
        for logger, level in zip(ours, before[1], strict=True):
            logger.setLevel(level)


def database_dump() -> str:
    if connection.vendor == "postgresql":
        url = test_database_url()
        return subprocess.run(  # noqa: S603 - pg_dump of the test database
            ["pg_dump", "--no-owner", "--data-only", url],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    return "\n".join(connection.connection.iterdump())


def broker_messages() -> str:
    """Every message waiting in Redis, with each body decoded from its base64."""
    found = []
    for raw in redis.Redis.from_url(BROKER).lrange("celery", 0, -1):
        message = json.loads(raw)
        found += [raw.decode(), base64.b64decode(message["body"]).decode()]
    return "\n".join(found)


def leaks(secrets: dict[str, str], where: dict[str, str]) -> list[str]:
    return [
        f"{what} in {place}"
        for what, secret in secrets.items()
        for place, text in where.items()
        if secret in text
    ]


def test_no_secret_of_a_whole_life_is_found_anywhere(
    page: Page,
    live_server: Any,
    settings: Any,
    oauth_server: OAuthServer,
    mail_oauth: OAuthServer,
    smtp_server: SubmissionServer,
    imap_server: ImapServer,
    logs: tuple[StringIO, StringIO],
    tmp_path: Path,
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    secrets = {
        "client secret": CLIENT_SECRET,
        "machine secret": MACHINE_SECRET,
        "custom header value": HEADER_VALUE,
        "custom body value": BODY_VALUE,
    }
    pages: list[str] = []
    codes: list[str] = []

    def code_of(request: Request) -> None:
        if "/oauth2/callback/" in request.url:
            codes.extend(parse_qs(urlsplit(request.url).query).get("code", []))

    page.on("request", code_of)
    oauth_server.register_client(
        CLIENT_ID, secrets["client secret"], f"{live_server.url}/oauth2/callback/", "body"
    )

    # Add and deploy, in the browser.
    sign_in_as_admin(page, live_server)
    deploy(
        page,
        name=NAME,
        provider="Generic",
        client_id=CLIENT_ID,
        send_as="Body Parameter",
        urls=(f"{oauth_server.url}/o/authorize/", f"{oauth_server.url}/o/token/"),
        scope="openid profile read",
    )
    pages.append(page.content())

    # Authorize at the real provider: sign in, read the verifier while the sign-in is
    # pending, consent, and see the code pass by on its way to the callback.
    page.get_by_role("row", name=re.compile(NAME)).get_by_role("button", name="Authorize").click()
    page.get_by_label("Email or user name").fill(PROVIDER_USER)
    page.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    secrets["PKCE verifier"] = AuthorizationState.objects.get().code_verifier
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text(f"{NAME} is authorized and deployed.")).to_be_visible()
    pages.append(page.content())
    assert codes, "the browser never went to the callback"
    secrets["authorization code"] = codes[0]
    artifact = OAuth2AuthorizationCode.objects.get(name=NAME)
    secrets["first access token"] = artifact.access_token
    secrets["first refresh token"] = artifact.refresh_token

    # A refresh, and a failed one (the spent refresh token put back).
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"
    artifact = OAuth2AuthorizationCode.objects.get(name=NAME)
    secrets["second access token"] = artifact.access_token
    secrets["second refresh token"] = artifact.refresh_token

    # A Connectivity Test: SMTP with XOAUTH2 at a server that checks the token at the provider.
    admin = Client(raise_request_exception=False)
    admin.force_login(artifact.deployed_by)
    tested = admin.post(
        "/monitor/integrations/connectivity-tests/?tab=smtp",
        {
            "authentication": "oauth2-authorization-code",
            "credential_name": NAME,
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "protection": "none",
            "send_to": MAILBOX,
        },
    )
    assert f"Success: signed in as {MAILBOX}" in tested.content.decode()
    pages.append(tested.content.decode())
    tested = admin.post(
        "/monitor/integrations/connectivity-tests/?tab=imap",
        {
            "authentication": "oauth2-authorization-code",
            "credential_name": NAME,
            "host": "127.0.0.1",
            "port": imap_server.port,
            "protection": "none",
        },
    )
    assert f"Success: signed in as {MAILBOX}" in tested.content.decode()
    pages.append(tested.content.decode())
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
        refresh_token=OAuth2AuthorizationCode._meta.get_field("refresh_token").get_prep_value(
            secrets["first refresh token"]
        )
    )
    failed = refresh.refresh_artifact(artifact.pk, force=True)
    assert failed.action == "needs a person", failed
    page.reload()
    pages.append(page.content())

    # The consumer API, served by gunicorn as in production, with its access log (an answer
    # with a token is the one place a token belongs).
    api_token, secrets["API token"] = ApiToken.create("leak-consumer")
    bearer = {"Authorization": f"Bearer {secrets['API token']}"}
    access_log = tmp_path / "access.log"
    secrets["metrics token"] = METRICS_TOKEN
    as_shipped = {"METRICS_TOKEN": METRICS_TOKEN, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    served = gunicorn_process(
        tmp_path, "--workers", "1", "--access-logfile", str(access_log), env=as_shipped
    )
    with served as (url, web):
        answer = requests.get(
            f"{url}/api/v1/security-material/{NAME}/access-token", headers=bearer, timeout=30
        )
        assert answer.status_code == 409, answer.text  # the failed refresh needs a person
        pages.append(answer.text)
        nobody = requests.get(
            f"{url}/api/v1/security-material/Nobody/access-token", headers=bearer, timeout=30
        )
        pages.append(nobody.text)
        replayed = f"{url}/oauth2/callback/?code={codes[0]}&state=replayed"
        requests.get(replayed, headers={"Referer": replayed}, timeout=30)
        # The management API: a client-credentials artifact with custom parameters created,
        # read, and a move of its Token Service URL refused (its values stay bound).
        _, secrets["manage API token"] = ApiToken.create("leak-manager", can_manage=True)
        manage = {"Authorization": f"Bearer {secrets['manage API token']}"}
        oauth_server.register_client(
            "leak-machine-2",
            MACHINE_SECRET,
            "http://localhost/unused",
            auth_method="body",
            grant="client-credentials",
        )
        base = f"{url}/api/v1/manage/oauth2-client-credentials"
        created = requests.post(
            base,
            json={
                "name": "Leak_Machine_2",
                "token_service_url": f"{oauth_server.url}/o/token/",
                "client_id": "leak-machine-2",
                "client_secret": MACHINE_SECRET,
                "scope": "read",
                "custom_parameters": CUSTOM_PARAMETERS,
            },
            headers=manage,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        read = requests.get(f"{base}/Leak_Machine_2", headers=manage, timeout=30)
        moved = requests.put(
            f"{base}/Leak_Machine_2",
            json={
                "token_service_url": "https://collector.example.net/token",
                "client_secret": "anything",
            },
            headers=manage,
            timeout=30,
        )
        assert moved.status_code == 400, moved.text
        pages += [created.text, read.text, moved.text]
        metrics = requests.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
        )
        assert "security_material_api_requests_total" in metrics.text
    web_log = said(web)
    assert all(json.loads(line) for line in web_log.splitlines())  # every line a JSON object
    assert access_log.read_text().count('"GET /') == 5
    assert access_log.read_text().count('"POST /') == 1

    # Consent by link for the artifact that needs a person: the admin creates it (that page
    # is the one place its token belongs), the owner opens it in a browser with no session
    # here, signs in at the provider and consents.
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/")
    page.get_by_role("button", name="Create Consent Link").click()
    link = page.get_by_label("Consent Link").input_value()
    secrets["consent link token"] = link.split("link=", 1)[1]
    page.get_by_role("button", name="Send by Mail").click()
    pages.append(page.content())
    assert page.context.browser is not None
    owner_context = page.context.browser.new_context()
    owner = owner_context.new_page()
    owner.on("request", code_of)
    owner.goto(link)
    pages.append(owner.content())
    owner.get_by_role("button", name="Sign in and consent").click()
    owner.get_by_label("Email or user name").fill(PROVIDER_USER)
    owner.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    owner.get_by_role("button", name="Sign in to the provider").click()
    secrets["consent PKCE verifier"] = AuthorizationState.objects.get().code_verifier
    owner.get_by_role("button", name="Authorize").click()
    expect(owner.get_by_role("heading", name="Consent recorded")).to_be_visible()
    pages.append(owner.content())
    owner.goto(link)  # used: refused
    pages.append(owner.content())
    owner_context.close()
    secrets["consent authorization code"] = codes[-1]
    artifact = OAuth2AuthorizationCode.objects.get(name=NAME)
    secrets["consent access token"] = artifact.access_token
    secrets["consent refresh token"] = artifact.refresh_token
    page.reload()
    pages.append(page.content())

    # Fetch Token for it: the custom parameters go to the real token endpoint.
    machine_2 = OAuth2ClientCredentials.objects.get(name="Leak_Machine_2")
    fetched = admin.post(
        f"/monitor/integrations/security-material/{machine_2.pk}/fetch-token/", follow=True
    )
    assert fetched.status_code == 200
    pages.append(fetched.content.decode())
    secrets["client-credentials access token"] = OAuth2ClientCredentials.objects.get(
        pk=machine_2.pk
    ).access_token
    seen = oauth_server.token_requests()[-1]
    assert seen["body_x"] == {"x_subscription_key": BODY_VALUE}  # it reached the provider
    assert seen["headers"]["X-Api-Key"] == HEADER_VALUE

    # A message to a worker, as beat sends it.
    redis.Redis.from_url(BROKER).flushdb()
    with app.connection_for_write(BROKER) as broker:
        tasks.refresh_credential.apply_async((artifact.pk,), connection=broker)

    # A forced failure with DEBUG on: a client-credentials fetch whose HTTP call blows up
    # (the third-party boundary), rendered by Django's technical 500 page.
    machine = OAuth2ClientCredentials.objects.create(
        name="Leak_Machine",
        token_service_url=f"{oauth_server.url}/o/token/",
        client_id="leak-machine",
        client_secret=MACHINE_SECRET,
        custom_parameters_json=json.dumps(CUSTOM_PARAMETERS),
    )
    settings.DEBUG = True

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the network stack fell over")

    original = requests.Session.post
    requests.Session.post = explode  # type: ignore[method-assign]
    try:
        debug_page = admin.post(
            f"/monitor/integrations/security-material/{machine.pk}/fetch-token/"
        )
    finally:
        requests.Session.post = original  # type: ignore[method-assign]
        settings.DEBUG = False
    assert debug_page.status_code == 500
    assert "RuntimeError" in debug_page.content.decode()  # it is the technical page

    # Key rotation, then delete.
    new_key = Fernet.generate_key().decode()
    settings.SECURITY_MATERIAL_KEYS = [new_key, TEST_KEY]
    call_command("rotate_keys", stdout=StringIO())
    settings.SECURITY_MATERIAL_KEYS = [new_key]
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/delete/")
    pages.append(page.content())
    page.get_by_role("button", name="Delete").click()
    pages.append(page.content())
    api_token.revoke()

    haystacks = {
        "the database dump": database_dump(),
        "the logs": logs[0].getvalue(),
        "the JSON logs": logs[1].getvalue(),
        "gunicorn's access log": access_log.read_text(),
        "the web process's JSON log (DEBUG)": web_log,
        "/metrics": metrics.text,
        "the pages": "\n".join(pages),
        "the Redis messages": broker_messages(),
        "the DEBUG error page": debug_page.content.decode(),
    }
    assert all(haystacks.values()), [place for place, text in haystacks.items() if not text]
    assert "Leak_Machine" in haystacks["the database dump"]  # the dump is of this database
    assert all(secrets.values()), secrets.keys()
    assert leaks(secrets, haystacks) == []
    # The search finds what is there: a secret planted in each place is found in each.
    planted = {place: text + secrets["second refresh token"] for place, text in haystacks.items()}
    assert len(leaks(secrets, planted)) == len(haystacks)
