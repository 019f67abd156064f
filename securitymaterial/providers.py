"""The Redirect URL admins register at their provider (the providers themselves are in
oauthproviders/, plain Python)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def redirect_url() -> str:
    """One callback for every artifact. Built from PUBLIC_BASE_URL, never from the
    request's Host header (proxies lie)."""
    return settings.PUBLIC_BASE_URL + reverse("oauthflows:callback")
