"""Providers are small declarative classes."""

from __future__ import annotations

from oauthproviders import PROVIDERS, Generic, Microsoft365
from securitymaterial.providers import redirect_url


def test_the_providers_are_listed_explicitly() -> None:
    assert {"microsoft365": Microsoft365, "generic": Generic} == PROVIDERS


def test_microsoft_365_builds_tenant_urls() -> None:
    assert Microsoft365.urls_for_tenant("8eaef023-2b34-4da1-9baa-8bc8c9d6a490") == (
        "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/oauth2/v2.0/token",
    )
    assert Generic.urls_for_tenant("x") is None


def test_microsoft_365_adds_offline_access_and_says_so() -> None:
    assert Microsoft365.complete_scope("a b") == ("a b offline_access", ["offline_access"])
    assert Microsoft365.complete_scope("offline_access a") == ("offline_access a", [])
    assert Generic.complete_scope("a") == ("a", [])


def test_the_redirect_url_is_the_public_base_url_plus_the_callback(settings: object) -> None:
    settings.PUBLIC_BASE_URL = "https://sm.example.com"  # type: ignore[attr-defined]
    assert redirect_url() == "https://sm.example.com/oauth2/callback/"
