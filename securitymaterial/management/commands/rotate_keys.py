"""Re-encrypt every stored secret under the first key of SECURITY_MATERIAL_KEYS.

Procedure: put the new key first, keep the old ones after it, run this command,
then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F

from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every stored secret and token under the first encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [
                f.attname for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)
            ]
            if not fields:
                continue
            rows = 0
            pk_name = model._meta.pk.attname
            for pk in model._default_manager.values_list("pk", flat=True):
                # One row at a time, locked: a refresh that rotates a token meanwhile either
                # finishes first or waits. The no-op UPDATE takes the row lock on PostgreSQL
                # and the write lock on SQLite. Raw ciphertexts: rotate() keeps each value's
                # Fernet timestamp and never holds plaintext in Python.
                with transaction.atomic():
                    model._default_manager.filter(pk=pk).update(**{pk_name: F(pk_name)})
                    raw = _raw_values(model, pk, fields)
                    rotated = {name: crypto.rotate(value) for name, value in raw.items() if value}
                    if rotated:
                        _write_raw(model, pk, rotated)
                        rows += 1
            total += rows
            self.stdout.write(f"{model._meta.label}: re-encrypted {rows} row(s).")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} row(s) now use the first key."))


def _raw_values(model: Any, pk: Any, fields: list[str]) -> dict[str, str]:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {pk_column} = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    return dict(zip(fields, row, strict=True))


def _write_raw(model: Any, pk: Any, values: dict[str, str]) -> None:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(
        f"{connection.ops.quote_name(model._meta.get_field(f).column)} = %s" for f in values
    )
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s",  # noqa: S608
            [*values.values(), pk],
        )
