"""The Redirect URL: one callback path for every artifact (the state says which one)."""

from __future__ import annotations

from securitymaterial.providers import redirect_url

CALLBACK_PATH = "/oauth2/callback/"

__all__ = ["CALLBACK_PATH", "redirect_url"]  # the catalogue builds the URL; the flow uses it
