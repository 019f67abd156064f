"""Re-encrypt every stored secret under the first key of SECURITY_MATERIAL_KEYS.

Procedure: put the new key first, keep the old ones after it, run this command,
then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Model

from securitymaterial import crypto
from securitymaterial.fields import EncryptedTextField
from securitymaterial.management.commands.check_secrets import key_report
from securitymaterial.secrets_at_rest import encrypted_models, select_batch

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt every stored secret and token under the first encryption key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        total, unreadable = 0, []
        for model, fields in encrypted_models():
            rows, bad = _rotate_table(model, fields, max(1, options["batch"]))
            total += rows
            unreadable += [f"{model._meta.label} {pk}" for pk in bad]
            self.stdout.write(f"{model._meta.label}: re-encrypted {rows} row(s).")
        if unreadable:
            self.stdout.write(key_report())
            # Carried on past them; the rest uses the first key. Nothing is lost: these rows
            # still hold what they held.
            raise CommandError(
                f"Re-encrypted {total} row(s), but {len(unreadable)} cannot be decrypted with "
                f"any configured key and were left as they are: {', '.join(unreadable[:20])}."
            )
        self.stdout.write(key_report())
        self.stdout.write(self.style.SUCCESS(f"Done: {total} row(s) now use the first key."))


def _rotate_table(
    model: type[Model], fields: list[EncryptedTextField], batch: int
) -> tuple[int, list[Any]]:
    """A batch of rows per transaction, in key order, each batch locked before it is read:
    a refresh that rotates a token meanwhile either finishes first or waits. Raw
    ciphertexts: rotate() keeps each value's Fernet timestamp and never holds plaintext.
    Memory stays bounded by the batch."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    rows, last = 0, None
    unreadable: list[Any] = []
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if not connection.features.has_select_for_update:
                # SQLite: take the database write lock before reading
                cursor.execute(f"UPDATE {table} SET {pk} = {pk} WHERE 1 = 0")  # noqa: S608
            fetched = select_batch(model, fields, last, batch, lock=True)
            if not fetched:
                return rows, unreadable
            updates = []
            for key, *values in fetched:
                try:
                    rotated = [crypto.rotate(value) if value else value for value in values]
                except (InvalidToken, UnicodeError):
                    unreadable.append(key)
                    continue
                if any(values):
                    updates.append([*rotated, key])
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                updates,
            )
            rows += len(updates)
            last = fetched[-1][0]
