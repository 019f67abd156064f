"""The encrypted model field: secret policy lives here, not in views or forms."""

from __future__ import annotations

from typing import Any

from django.db import models

from securitymaterial import crypto


class EncryptedTextField(models.TextField[str, str]):
    """Stores Fernet ciphertext, hands Python code the plaintext.

    Encryption is randomised, so the column cannot be indexed, unique or searched.
    An empty string stays empty (meaning "not set"), so blank checks need no decryption.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs["editable"] = kwargs.get("editable", True)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(str(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        # Ciphertexts differ on every save: a lookup on them would silently match nothing.
        if lookup_name not in {"isnull", "exact"}:
            raise NotImplementedError(f"{self.name} is encrypted and cannot be searched")
        return super().get_lookup(lookup_name)
