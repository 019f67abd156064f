"""The detail page: attributes, status, fingerprint instead of the secret, and the history."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from securitymaterial.crypto import fingerprint
from tests.conftest import CLIENT_SECRET, valid_form_data


def test_it_shows_the_attributes_and_a_fingerprint_never_the_secret(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact(refresh_token_expiry_days=None)
    html = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk])).content.decode()
    assert CLIENT_SECRET not in html
    assert f"fingerprint {fingerprint(CLIENT_SECRET)}" in html
    assert "Never expires" in html
    assert "https://auth.example.com/token" in html
    assert "Choose Authorize to sign in and consent" in html
    assert 'value="http://127.0.0.1:8000/oauth2/callback/" readonly' in html


def test_it_shows_who_created_it(admin_client: Client) -> None:
    add = reverse("securitymaterial:add", args=["oauth2-authorization-code"])
    admin_client.post(add, valid_form_data())
    from securitymaterial.models import OAuth2AuthorizationCode

    artifact = OAuth2AuthorizationCode.objects.get()
    html = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk])).content.decode()
    assert "<strong>Created</strong> by ada" in html
    assert "Client Secret changed" in html
    assert "Scope: “https://outlook.office.com/SMTP.Send offline_access”" in html
    assert "Provider: “Microsoft 365”" in html


def test_a_reader_sees_it_without_controls(reader_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    html = reader_client.get(
        reverse("securitymaterial:detail", args=[artifact.pk])
    ).content.decode()
    assert "Generic_App" in html
    for control in (">Authorize<", ">Edit<", ">Delete<"):
        assert control not in html


def test_an_artifact_that_needs_a_person_says_renewal_stopped(
    admin_client: Client, make_artifact: Any
) -> None:
    from django.utils import timezone

    artifact = make_artifact(
        refresh_token="RT", refresh_token_expiry_days=90, refresh_token_renewed_at=timezone.now()
    )
    artifact.record_permanent_failure("The grant was revoked.", "reauthorize", timezone.now())
    artifact.save()
    html = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk])).content.decode()
    assert "Needs a person" in html
    assert "Re-authorization required: The grant was revoked. Choose Authorize" in html
    assert "stopped until someone acts" in html
    list_html = admin_client.get(reverse("securitymaterial:list")).content.decode()
    assert "Needs a person" in list_html
