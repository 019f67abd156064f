"""OAuth providers as the catalogue sees them. The catalogue does not import the protocol
code: oauthflows registers its providers here when the app starts (OAuthFlowsConfig.ready),
so the dependency runs one way, oauthflows on top of the catalogue."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.urls import reverse


def redirect_url() -> str:
    """The Redirect URL admins register at the provider: one callback for every artifact.
    Built from PUBLIC_BASE_URL, never from the request's Host header (proxies lie)."""
    return settings.PUBLIC_BASE_URL + reverse("oauth2-callback")


class ProviderInfo(Protocol):
    """The declarative part of a provider that forms and pages need."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def needs_tenant(self) -> bool: ...
    @property
    def authorization_url_template(self) -> str | None: ...
    @property
    def token_url_template(self) -> str | None: ...
    @property
    def scope_suggestions(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def mail_hosts(self) -> tuple[str, ...]: ...
    @property
    def min_refresh_days(self) -> int: ...
    @property
    def max_refresh_days(self) -> int: ...
    @property
    def default_refresh_days(self) -> int | None: ...
    @property
    def refresh_days_may_be_blank(self) -> bool: ...

    def urls_for_tenant(self, tenant: str) -> tuple[str, str] | None: ...
    def complete_scope(self, scope: str) -> tuple[str, list[str]]: ...


_REGISTRY: dict[str, ProviderInfo] = {}


def register(*providers: ProviderInfo) -> None:
    for provider in providers:
        _REGISTRY[provider.id] = provider


def all_providers() -> list[ProviderInfo]:
    return list(_REGISTRY.values())


def get(provider_id: str) -> ProviderInfo | None:
    return _REGISTRY.get(provider_id)


def default() -> ProviderInfo:
    """The first one registered: what the Add form offers first."""
    return next(iter(_REGISTRY.values()))


def label(provider_id: str) -> str:
    provider = _REGISTRY.get(provider_id)
    return provider.label if provider else provider_id


def choices() -> list[tuple[str, str]]:
    """For the model field and the form (Django accepts a callable)."""
    return [(provider.id, provider.label) for provider in _REGISTRY.values()]
