"""OAuth providers: small declarative classes (endpoints, scopes, refresh-token expiry,
how errors are classified and explained), listed explicitly. Plain Python, no Django: the
catalogue (forms, models) and the protocol code (oauthflows) both import them."""

from __future__ import annotations

from oauthproviders.base import ErrorClass, Provider
from oauthproviders.generic import Generic
from oauthproviders.microsoft365 import Microsoft365

# The Add form offers the first one first.
PROVIDERS: dict[str, type[Provider]] = {
    Microsoft365.id: Microsoft365,
    Generic.id: Generic,
}


def get(provider_id: str) -> type[Provider] | None:
    return PROVIDERS.get(provider_id)


def default() -> type[Provider]:
    return next(iter(PROVIDERS.values()))


def label(provider_id: str) -> str:
    provider = PROVIDERS.get(provider_id)
    return provider.label if provider else provider_id


def choices() -> list[tuple[str, str]]:
    """For the model field and the form (Django accepts a callable)."""
    return [(provider.id, provider.label) for provider in PROVIDERS.values()]


__all__ = [
    "PROVIDERS",
    "ErrorClass",
    "Generic",
    "Microsoft365",
    "Provider",
    "choices",
    "default",
    "get",
    "label",
]
