"""System checks that refuse to start with missing or malformed encryption keys, or with
deadlines that would let a web worker or a task be killed while it holds a rotated token."""

from __future__ import annotations

import stat
from pathlib import Path
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
    return messages


def _open_to_others(path: Path | None) -> bool:
    return (
        path is not None
        and path.exists()
        and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    )


def check_file_permissions(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Files with keys and passwords, and the embedded default's var/ and database (it
    holds session keys), must not be readable by other users of the machine."""
    secret_files = [
        getattr(settings, "SECURITY_MATERIAL_KEY_FILE", None),
        *getattr(settings, "SECRET_FILES", []),
    ]
    messages: list[CheckMessage] = [
        Warning(
            f"The key file {path} can be read by other users.",
            hint=f"chmod 600 {path}",
            id="securitymaterial.W002",
        )
        for path in secret_files
        if _open_to_others(path)
    ]
    for path, mode in (
        (getattr(settings, "VAR_DIR", None), "700"),
        (getattr(settings, "SQLITE_DATABASE", None), "600"),
    ):
        if _open_to_others(path):
            messages.append(
                Warning(
                    f"{path} can be read by other users; it holds the database or keys.",
                    hint=f"chmod {mode} {path}",
                    id="securitymaterial.W003",
                )
            )
    return messages


def check_stored_secrets_readable(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every stored secret decrypts with SECURITY_MATERIAL_KEYS: run at start-up by `migrate`
    (and `check --database default`), so a missing or wrong key stops the service with the
    names of what it cannot read, instead of a failure on each request that touches one.
    By the key ids stored with the values: only values whose key is not configured are
    decrypted (`manage.py check_secrets` decrypts them all)."""
    if not databases or check_encryption_keys():
        return []  # not asked to look at the database, or no usable key to try
    from securitymaterial.secrets_at_rest import listed, unreadable

    found = unreadable()
    if not found:
        return []
    return [
        Error(
            f"{len(found)} stored record(s) cannot be decrypted with SECURITY_MATERIAL_KEYS: "
            f"{listed(found, 20)}.",
            hint="Put back the key they were encrypted with (after the new one) and run "
            "manage.py rotate_keys before removing it; or enter their secrets again with Edit. "
            "manage.py check_secrets decrypts every stored value.",
            id="securitymaterial.E003",
        )
    ]


def check_deadlines(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A refresh may take TOKEN_REQUEST_TIMEOUT_SECONDS at the provider and then, if the
    database went away, REFRESH_STORE_RETRY_SECONDS to store the rotated token: the web
    worker (gunicorn's timeout) and the Celery task must outlive both, or the token held
    in memory dies with them."""
    needed = settings.TOKEN_REQUEST_TIMEOUT + settings.REFRESH_STORE_RETRY_SECONDS + 10
    limits = {
        "gunicorn's timeout (WEB_WORKER_TIMEOUT, config/gunicorn.py)": (
            settings.WEB_WORKER_TIMEOUT
        ),
        "CELERY_TASK_SOFT_TIME_LIMIT (CELERY_TASK_TIME_LIMIT - 5)": (
            settings.CELERY_TASK_SOFT_TIME_LIMIT
        ),
    }
    return [
        Error(
            f"{name} is {limit} s, but a refresh may need {needed} s: "
            "TOKEN_REQUEST_TIMEOUT_SECONDS + REFRESH_STORE_RETRY_SECONDS + 10.",
            hint="Lower TOKEN_REQUEST_TIMEOUT_SECONDS or REFRESH_STORE_RETRY_SECONDS, or "
            "raise CELERY_TASK_TIME_LIMIT.",
            id="securitymaterial.E004",
        )
        for name, limit in limits.items()
        if limit < needed
    ]
