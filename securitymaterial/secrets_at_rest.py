"""Every encrypted column of every model, read as stored: for `rotate_keys` and the start-up
check. Raw ciphertexts in batches of rows in key order, so memory stays bounded at any size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Model

from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField

BATCH = 1000


def encrypted_models() -> Iterator[tuple[type[Model], list[EncryptedTextField]]]:
    for model in apps.get_models():
        fields = [f for f in model._meta.local_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


def select_batch(
    model: type[Model], fields: list[EncryptedTextField], after: Any, size: int, lock: bool
) -> list[tuple[Any, ...]]:
    """(pk, ciphertext, ...) of the next `size` rows after `after` (None: from the start)."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in fields)
    where = "" if after is None else f"WHERE {pk} > %s "
    for_update = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, {columns} FROM {table} {where}ORDER BY {pk} LIMIT %s{for_update}",  # noqa: S608
            [*([] if after is None else [after]), size],
        )
        return list(cursor.fetchall())


def _decrypts(value: str | None) -> bool:
    if not value:
        return True
    try:
        crypto.decrypt(value)
    except crypto.DecryptionError:
        return False
    return True


def _migrations_pending() -> bool:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def unreadable() -> list[str]:
    """What cannot be decrypted with the configured keys: artifacts by name, other records
    (a pending sign-in) by model and id."""
    from securitymaterial.models import Artifact

    if _migrations_pending():
        # `migrate` runs the database checks before it migrates: the tables do not have
        # the models' shape yet. The start after it checks.
        return []
    found: list[str] = []
    for model, fields in encrypted_models():
        bad, last = [], None
        while batch := select_batch(model, fields, last, BATCH, lock=False):
            bad += [pk for pk, *values in batch if not all(map(_decrypts, values))]
            last = batch[-1][0]
        if issubclass(model, Artifact):
            names = Artifact.objects.filter(pk__in=bad).order_by("runtime", "name")
            found += [f"“{a.name}” ({a.runtime})" for a in names.only("name", "runtime")]
        else:
            found += [f"{model._meta.verbose_name} {pk}" for pk in bad]
    return found
