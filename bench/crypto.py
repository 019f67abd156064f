"""Encryption cost per token with a key ring of 1 and of 3 keys, and the rotate_keys rate
over N rows against a batched loop doing the same work (read ciphertexts, re-encrypt under
the first key, write back) in one process.

Targets: rotate_keys at least 50% of the batched loop's rate, with memory bounded by its batch.
"""

from __future__ import annotations

import time
from io import StringIO

from bench import common

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "x" * 1800  # a Microsoft-sized access token


def per_token_us(keys: list[str], repeat: int) -> tuple[float, float]:
    """Through securitymaterial.crypto: encrypt under the first key; decrypt a value made
    by the last (the worst case without key ids; with them, its key is named)."""
    from django.test.utils import override_settings

    from securitymaterial import crypto

    with override_settings(SECURITY_MATERIAL_KEYS=[keys[-1]]):
        old = crypto.encrypt(TOKEN)
    with override_settings(SECURITY_MATERIAL_KEYS=keys):
        start = time.perf_counter()
        for _ in range(repeat):
            crypto.encrypt(TOKEN)
        encrypt = (time.perf_counter() - start) / repeat * 1e6
        start = time.perf_counter()
        for _ in range(repeat):
            crypto.decrypt(old)
    return encrypt, (time.perf_counter() - start) / repeat * 1e6


def baseline_rows_per_second(batch: int = 1000) -> float:
    """The same work as rotate_keys, batched: 1,000 rows per SELECT, UPDATE and commit."""
    from django.db import connection, transaction

    from securitymaterial import crypto

    table = "securitymaterial_oauth2authorizationcode"
    columns = ("client_secret", "access_token", "refresh_token")
    start, rows, last = time.perf_counter(), 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT artifact_ptr_id, {', '.join(columns)} FROM {table} "  # noqa: S608
                "WHERE artifact_ptr_id > %s ORDER BY artifact_ptr_id LIMIT %s FOR UPDATE",
                [last, batch],
            )
            fetched = cursor.fetchall()
            if not fetched:
                break
            updates = [
                [crypto.rotate(v) if v else v for v in row[1:]] + [row[0]] for row in fetched
            ]
            cursor.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in columns)} "  # noqa: S608
                "WHERE artifact_ptr_id = %s",
                updates,
            )
            rows += len(fetched)
            last = fetched[-1][0]
    return rows / (time.perf_counter() - start)


def main() -> str:
    args = common.arguments(__doc__ or "")
    common.setup()
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.core.management import call_command

    repeat = 200 if args.quick else 2000
    key = settings.SECURITY_MATERIAL_KEYS[0]
    one = per_token_us([key], repeat)
    three = per_token_us(
        [Fernet.generate_key().decode(), Fernet.generate_key().decode(), key], repeat
    )
    rows = min(args.artifacts, 2000) if args.quick else args.artifacts
    common.seed(rows)
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode(), key]
    start = time.perf_counter()
    call_command("rotate_keys", stdout=StringIO())
    command_rate = rows / (time.perf_counter() - start)
    settings.SECURITY_MATERIAL_KEYS = [
        Fernet.generate_key().decode(),
        *settings.SECURITY_MATERIAL_KEYS,
    ]
    loop_rate = baseline_rows_per_second()
    ratio = command_rate / loop_rate
    report = (
        common.table(
            [
                ["measure", "1 key", "3 keys (value under the last)"],
                ["encrypt, µs per token", f"{one[0]:.1f}", f"{three[0]:.1f}"],
                ["decrypt, µs per token", f"{one[1]:.1f}", f"{three[1]:.1f}"],
            ]
        )
        + "\n\n"
        + common.table(
            [
                ["rows", "rotate_keys rows/s", "batched loop rows/s", "ratio", "target ≥ 50%"],
                [
                    f"{rows:,}",
                    f"{command_rate:,.0f}",
                    f"{loop_rate:,.0f}",
                    f"{ratio:.0%}",
                    "met" if ratio >= 0.5 else "**not met**",
                ],
            ]
        )
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
