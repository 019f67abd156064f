"""The client secret never reaches a log line or a page, the Django admin included."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import CLIENT_SECRET, valid_form_data

ADD_URL = reverse("securitymaterial:add", args=["oauth2-authorization-code"])


def test_no_log_line_carries_the_secret(
    admin_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_client.post(ADD_URL, valid_form_data())
    admin_client.post(ADD_URL, valid_form_data(name="bad name"))
    admin_client.post(ADD_URL, valid_form_data(description="x" * (3 * 1024 * 1024)))
    assert caplog.records, "expected some log output to check"
    assert CLIENT_SECRET not in caplog.text


def test_the_django_admin_shows_a_fingerprint_only(make_artifact: Any, db: None) -> None:
    artifact = make_artifact()
    superuser = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(superuser)
    for url in (
        reverse("admin:securitymaterial_oauth2authorizationcode_changelist"),
        reverse("admin:securitymaterial_oauth2authorizationcode_change", args=[artifact.pk]),
        reverse("admin:securitymaterial_auditentry_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert CLIENT_SECRET not in response.content.decode()
    change = client.get(
        reverse("admin:securitymaterial_oauth2authorizationcode_change", args=[artifact.pk])
    )
    assert artifact.client_secret_fingerprint in change.content.decode()
