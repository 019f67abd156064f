"""The Redirect URL: one callback path for every artifact (the state says which one)."""

from __future__ import annotations

from django.conf import settings

CALLBACK_PATH = "/oauth2/callback/"


def redirect_url() -> str:
    """Built from PUBLIC_BASE_URL, never from the request's Host header (proxies lie)."""
    return settings.PUBLIC_BASE_URL + CALLBACK_PATH
