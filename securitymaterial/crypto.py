"""Fernet encryption for secrets at rest: the first key encrypts, all keys decrypt.

Each stored value is `<key id>$<Fernet token>`: the key id is the first 8 hex digits of the
SHA-256 of the key that encrypted it. So the database can say, without decrypting
anything, which key each value needs (the start-up check and rotate_keys count them by
that prefix, securitymaterial.secrets_at_rest), and a value is decrypted with its own key
at once instead of trying each. It tells nothing about the key (32 bits of a hash of 256
random bits). Values stored before key ids (a bare Fernet token) still decrypt by trying
every key; rotate_keys gives them an id.
"""

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


KEY_ID_LENGTH = 9  # 8 hex digits and "$"


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:8] + "$"


class Keyring:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self.all = MultiFernet([Fernet(key) for key in keys])
        self.by_id = {key_id(key): Fernet(key) for key in reversed(keys)}  # the first wins
        self.ids = [key_id(key) for key in keys]  # in the settings' order: the first encrypts
        self.first = Fernet(keys[0])

    def token(self, ciphertext: str) -> tuple[Fernet | MultiFernet, bytes]:
        """The key a stored value names (or all of them, for a value without an id), and
        its Fernet token."""
        if ciphertext[KEY_ID_LENGTH - 1 : KEY_ID_LENGTH] == "$":
            fernet = self.by_id.get(ciphertext[:KEY_ID_LENGTH])
            return fernet or self.all, ciphertext[KEY_ID_LENGTH:].encode("ascii")
        return self.all, ciphertext.encode("ascii")


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


def keyring() -> Keyring:
    return _keyring(tuple(settings.SECURITY_MATERIAL_KEYS))


def encrypt(plaintext: str) -> str:
    ring = keyring()
    return ring.ids[0] + ring.first.encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        fernet, token = keyring().token(ciphertext)
        return fernet.decrypt(token).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured SECURITY_MATERIAL_KEYS "
            "(was a key removed before rotate_keys ran?)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first key, keeping Fernet's original timestamp. InvalidToken if
    no configured key decrypts it."""
    ring = keyring()
    _, token = ring.token(ciphertext)
    return ring.ids[0] + ring.all.rotate(token).decode("ascii")


def written_with(ciphertext: str) -> str:
    """The key id a stored value names ("" for a value without one)."""
    has_id = ciphertext[KEY_ID_LENGTH - 1 : KEY_ID_LENGTH] == "$"
    return ciphertext[:KEY_ID_LENGTH] if has_id else ""


def fingerprint(plaintext: str) -> str:
    """A short, non-reversible tag that tells an admin whether a secret changed."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, plaintext.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{digest[:4]}…{digest[-4:]}"
