"""The Redirect URL's path: one callback for every artifact (the state says which one)."""

from __future__ import annotations

CALLBACK_PATH = "/oauth2/callback/"
