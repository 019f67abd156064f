"""Deleting asks for confirmation, needs the delete permission and leaves an audit entry."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode


def test_get_asks_for_confirmation_and_deletes_nothing(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    response = admin_client.get(reverse("securitymaterial:delete", args=[artifact.pk]))
    assert "Delete Generic_App?" in response.content.decode()
    assert OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).exists()


def test_post_deletes_and_the_audit_entry_survives(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    response = admin_client.post(
        reverse("securitymaterial:delete", args=[artifact.pk]), follow=True
    )
    assert "Deleted Generic_App." in response.content.decode()
    assert not OAuth2AuthorizationCode.objects.exists()
    entry = AuditEntry.objects.get(action="deleted")
    assert (entry.artifact_name, entry.actor_name, entry.artifact) == ("Generic_App", "ada", None)


def test_a_reader_cannot_delete(reader_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    url = reverse("securitymaterial:delete", args=[artifact.pk])
    assert reader_client.get(url).status_code == 403
    assert reader_client.post(url).status_code == 403
    assert OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).exists()


def test_deleting_twice_is_a_404(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    url = reverse("securitymaterial:delete", args=[artifact.pk])
    admin_client.post(url)
    assert admin_client.post(url).status_code == 404
