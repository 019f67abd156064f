"""The providers, listed explicitly."""

from __future__ import annotations

from oauthflows.providers.base import Provider
from oauthflows.providers.generic import Generic
from oauthflows.providers.microsoft365 import Microsoft365

PROVIDERS: dict[str, type[Provider]] = {
    Microsoft365.id: Microsoft365,
    Generic.id: Generic,
}

__all__ = ["PROVIDERS", "Generic", "Microsoft365", "Provider"]
