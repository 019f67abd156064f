"""System checks that refuse to start with missing or malformed encryption keys."""

from __future__ import annotations

import stat
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

HOW_TO_MAKE_A_KEY = (
    "Set SECURITY_MATERIAL_KEYS to one or more comma-separated Fernet keys (the first encrypts). "
    'Make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    keys: list[str] = list(getattr(settings, "SECURITY_MATERIAL_KEYS", []))
    if not keys:
        return [
            Error(
                "No encryption key is configured.",
                hint=HOW_TO_MAKE_A_KEY,
                id="securitymaterial.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            messages.append(
                Error(
                    f"Encryption key number {position} in SECURITY_MATERIAL_KEYS is not a valid "
                    "Fernet key (32 url-safe base64-encoded bytes).",
                    hint=HOW_TO_MAKE_A_KEY,
                    id="securitymaterial.E002",
                )
            )
    if len(set(keys)) != len(keys):
        messages.append(
            Warning("SECURITY_MATERIAL_KEYS lists a key twice.", id="securitymaterial.W001")
        )
    key_file = getattr(settings, "SECURITY_MATERIAL_KEY_FILE", None)
    if (
        key_file is not None
        and key_file.exists()
        and key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ):
        messages.append(
            Warning(
                f"The key file {key_file} can be read by other users.",
                hint=f"chmod 600 {key_file}",
                id="securitymaterial.W002",
            )
        )
    return messages
