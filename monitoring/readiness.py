"""Readiness: whether this process can do its work now. The database answers, the Celery
broker takes a connection, and the configured keys decrypt a value the service stored.
Each check says what failed in words, never a secret or a stack."""

from __future__ import annotations

from collections.abc import Callable

from celery import current_app
from django.db import connection

from securitymaterial import crypto
from securitymaterial.secrets_at_rest import encrypted_models

BROKER_TIMEOUT_SECONDS = 2


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any driver's error: the database cannot be used now
        return "cannot be reached"
    return "ok"


def _broker() -> str:
    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:  # kombu and the transports raise many kinds
        return "cannot be reached"
    return "ok"


def _keys() -> str:
    """The first key encrypts (it is a valid key), and the newest stored value of each
    encrypted kind decrypts with the configured keys."""
    try:
        crypto.decrypt(crypto.encrypt("readiness"))
    except Exception:
        return "the first key in SECURITY_MATERIAL_KEYS is not usable"
    for model, fields in encrypted_models():
        column = fields[0].attname
        stored = (
            model.objects.exclude(**{column: ""})  # type: ignore[attr-defined]
            .order_by("-pk")
            .values_list(column, flat=True)[:1]
        )
        try:
            list(stored)  # the field decrypts as it reads
        except crypto.DecryptionError:
            return "a stored secret cannot be decrypted with SECURITY_MATERIAL_KEYS"
        except Exception:
            return "cannot be checked: the database cannot be reached"
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {"database": _database, "broker": _broker, "keys": _keys}


def report() -> dict[str, str]:
    """Each check's result: "ok", or what failed."""
    return {name: check() for name, check in CHECKS.items()}
