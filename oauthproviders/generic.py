"""Any OAuth 2.0 authorization server (RFC 6749): the admin writes both URLs."""

from __future__ import annotations

from oauthproviders.base import Provider


class Generic(Provider):
    id = "generic"
    label = "Generic"
    # Blank means refresh tokens that never expire.
    refresh_days_may_be_blank = True
