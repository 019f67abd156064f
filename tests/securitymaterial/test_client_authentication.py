"""One word for one meaning: both OAuth types store "body" or "basic" for how the client's
ID and secret are sent; each page words it as the platform does; rows stored as "header"
before become "basic"; the management API still takes "header"."""

from __future__ import annotations

import importlib
import json

from django.apps import apps
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from securitymaterial.models import OAuth2ClientCredentials

migration = importlib.import_module("securitymaterial.migrations.0008_one_client_authentication")


def test_rows_stored_as_header_become_basic_and_back(db: None) -> None:
    artifact = OAuth2ClientCredentials.objects.create(
        name="Cc_Old",
        token_service_url="https://auth.example.com/t",
        client_id="c",
        client_secret="s",
    )
    OAuth2ClientCredentials.objects.filter(pk=artifact.pk).update(client_authentication="header")
    migration.header_to_basic(apps, None)
    artifact.refresh_from_db()
    assert artifact.client_authentication == "basic"
    migration.basic_to_header(apps, None)
    artifact.refresh_from_db()
    assert artifact.client_authentication == "header"


def test_the_management_api_takes_the_old_word_and_answers_the_new(db: None) -> None:
    _, secret = ApiToken.create("provisioning", can_manage=True)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {
        "name": "Cc_Api",
        "token_service_url": "https://auth.example.com/t",
        "client_id": "c",
        "client_secret": "s",
        "client_authentication": "header",
    }
    created = client.post(
        "/api/v1/manage/oauth2-client-credentials",
        json.dumps(body),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["client_authentication"] == "basic"


def test_the_detail_page_words_it_as_the_platform_does(admin_client: Client) -> None:
    artifact = OAuth2ClientCredentials.objects.create(
        name="Cc_Page",
        token_service_url="https://auth.example.com/t",
        client_id="c",
        client_secret="s",
        client_authentication="basic",
    )
    page = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk]))
    assert "Send as Request Header" in page.content.decode()
