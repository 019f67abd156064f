"""Fernet encryption for secrets at rest (MultiFernet: the first key encrypts, all keys decrypt)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key. Never carries the value."""


# What a person is told when a request meets one (503): the service cannot work with it
# until the key is back, and the start-up check names every record it cannot read.
UNREADABLE = (
    "A stored secret cannot be decrypted with the configured SECURITY_MATERIAL_KEYS: was a "
    "key removed before rotate_keys ran? Put the old key back after the new one; "
    "manage.py check --database default names every record that cannot be read."
)


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def keyring() -> MultiFernet:
    return _multifernet(tuple(settings.SECURITY_MATERIAL_KEYS))


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return keyring().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured SECURITY_MATERIAL_KEYS "
            "(was a key removed before rotate_keys ran?)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first key, keeping Fernet's original timestamp."""
    return keyring().rotate(ciphertext.encode("ascii")).decode("ascii")


def fingerprint(plaintext: str) -> str:
    """A short, non-reversible tag that tells an admin whether a secret changed."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, plaintext.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{digest[:4]}…{digest[-4:]}"
