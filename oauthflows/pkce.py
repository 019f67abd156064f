"""PKCE (RFC 7636): a verifier per authorization, its S256 challenge."""

from __future__ import annotations

import base64
import hashlib
import secrets


def make_verifier() -> str:
    """§4.1: 43 to 128 unreserved characters; 64 random bytes give 86."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """§4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
