"""Every encrypted column of every model, read as stored: for `rotate_keys`, `check_secrets`
and the start-up check. Raw ciphertexts in batches of rows in key order, so memory stays
bounded at any size.

The start-up check reads no secret: each stored value names the key that encrypted it
(securitymaterial.crypto), so one query per table finds the values whose key is not
configured, and only those are decrypted (a value from before key ids may still be
readable). `check_secrets` decrypts every value, as the start-up check once did."""

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


def _suspects(model: type[Model], fields: list[EncryptedTextField]) -> list[tuple[Any, ...]]:
    """(pk, ciphertext, ...) of the rows with a value whose key id is not configured: one
    scan of the table, comparing the first characters of each value."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    ids = crypto.keyring().ids
    marks = ", ".join(["%s"] * len(ids))
    unknown = " OR ".join(
        f"({quote(f.column)} <> '' AND SUBSTR({quote(f.column)}, 1, {crypto.KEY_ID_LENGTH}) "
        f"NOT IN ({marks}))"
        for f in fields
    )
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, {columns} FROM {table} WHERE {unknown} ORDER BY {pk}",  # noqa: S608
            ids * len(fields),
        )
        return list(cursor.fetchall())


def values_by_key() -> dict[str, int]:
    """How many stored values each key id encrypted ("" for values from before key ids): what
    rotate_keys has left to do while any but the first key's id is here."""
    quote = connection.ops.quote_name
    counts: dict[str, int] = {}
    for model, fields in encrypted_models():
        table = quote(model._meta.db_table)
        for f in fields:
            column = quote(f.column)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT SUBSTR({column}, 1, {crypto.KEY_ID_LENGTH}), COUNT(*) "  # noqa: S608
                    f"FROM {table} WHERE {column} <> '' GROUP BY 1"
                )
                for prefix, count in cursor.fetchall():
                    key = crypto.written_with(prefix)
                    counts[key] = counts.get(key, 0) + count
    return counts


def unreadable(*, decrypt_all: bool = False) -> list[str]:
    """What cannot be decrypted with the configured keys: artifacts by name, other records
    (a pending sign-in) by model and id. By key ids (decrypting only the values whose key
    is not configured), or with `decrypt_all` by decrypting every value."""
    from securitymaterial.models import Artifact

    if _migrations_pending():
        # `migrate` runs the database checks before it migrates: the tables do not have
        # the models' shape yet. The start after it checks.
        return []
    found: list[str] = []
    for model, fields in encrypted_models():
        bad: list[Any] = []
        if decrypt_all:
            last = None
            while batch := select_batch(model, fields, last, BATCH, lock=False):
                bad += [pk for pk, *values in batch if not all(map(_decrypts, values))]
                last = batch[-1][0]
        else:
            suspects = _suspects(model, fields)
            bad = [pk for pk, *values in suspects if not all(map(_decrypts, values))]
        if issubclass(model, Artifact):
            names = Artifact.objects.filter(pk__in=bad).order_by("runtime", "name")
            found += [f"“{a.name}” ({a.runtime})" for a in names.only("name", "runtime")]
        else:
            found += [f"{model._meta.verbose_name} {pk}" for pk in bad]
    return found


def listed(found: list[str], limit: int) -> str:
    """The first `limit` of them, and how many more."""
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return ", ".join(found[:limit]) + more
