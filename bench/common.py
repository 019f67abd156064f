"""What every benchmark needs: its own PostgreSQL database, fast seeding, timing, output.

The database is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench),
created and migrated when missing. Seeding writes N artifacts with one INSERT ... SELECT
over generate_series per table: no ORM objects, no network, one ciphertext reused (every
row still decrypts with the configured key).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def environment() -> dict[str, str]:
    """The environment of the benchmark's processes: the bench database, a fixed key."""
    from cryptography.fernet import Fernet

    key_file = ROOT / "var" / "bench.key"
    key_file.parent.mkdir(mode=0o700, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECURITY_MATERIAL_KEYS": key_file.read_text().strip(),
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "ALLOW_PRIVATE_TOKEN_ENDPOINTS": "true",
        "LOG_LEVEL": "WARNING",
    }


def setup() -> None:
    """Django against the bench database (created and migrated if needed)."""
    os.environ.update(environment())
    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(count: int, *, due: int = 0, token_url: str = "https://auth.example.com/token") -> None:  # noqa: S107
    """Exactly `count` deployed authorization-code artifacts named Bench_0000001..., every
    50th needing a person, `due` of them due for a refresh now, the rest spread over 30
    days; each last used an hour ago, as in a service whose integrations use them."""
    from django.db import connection

    from securitymaterial import crypto

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE securitymaterial_artifact, securitymaterial_auditentry,"
            " securitymaterial_artifactcount CASCADE"
        )
        # Row by row the count trigger would serialise the load on one counter row: load
        # without it, then count once (as after any bulk load that bypasses triggers).
        cursor.execute(
            "ALTER TABLE securitymaterial_artifact DISABLE TRIGGER securitymaterial_count_artifacts"
        )
        cursor.execute(
            """
            INSERT INTO securitymaterial_artifact
                (runtime, name, kind, description, status, status_reason, error_kind,
                 deployed_on, created_at, last_used_at, deployed_by_name)
            SELECT 'cloud', 'Bench_' || lpad(g::text, 7, '0'), 'oauth2-authorization-code', '',
                   CASE WHEN g %% 50 = 0 THEN 'error' ELSE 'deployed' END,
                   CASE WHEN g %% 50 = 0 THEN 'The grant was revoked.' ELSE '' END,
                   CASE WHEN g %% 50 = 0 THEN 'reauthorize' ELSE '' END, now(), now(),
                   now() - interval '1 hour', 'admin' || (g %% 20)
            FROM generate_series(1, %s) g
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO securitymaterial_oauth2authorizationcode
                (artifact_ptr_id, provider, tenant, authorization_url, token_service_url,
                 refresh_token_expiry_days, client_id, client_secret, send_as, user_name, scope,
                 use_pkce, access_token, refresh_token, access_token_expires_at,
                 refresh_token_renewed_at, token_scope, authorized_account, next_refresh_at,
                 attempts_since_success, last_attempt_result, refresh_days)
            SELECT id, 'generic', '', 'https://auth.example.com/authorize', %s, 90,
                   'client-' || id, %s, 'body', 'mailer' || id || '@example.com', 'read', true,
                   %s, %s, now() + interval '1 hour', now(), 'read', '',
                   now() + (id %% 30 + 1) * interval '1 day', 0, 'Refreshed', '{}'
            FROM securitymaterial_artifact
            """,
            [
                token_url,
                crypto.encrypt("client-secret"),
                crypto.encrypt("AT-bench"),
                crypto.encrypt("RT-bench"),
            ],
        )
        if due:
            cursor.execute(
                """
                UPDATE securitymaterial_oauth2authorizationcode
                SET next_refresh_at = now() - interval '1 minute',
                    refresh_token_renewed_at = now() - interval '60 days'
                WHERE artifact_ptr_id IN (SELECT id FROM securitymaterial_artifact
                                          WHERE status = 'deployed' ORDER BY id LIMIT %s)
                """,
                [due],
            )
        cursor.execute(
            "ALTER TABLE securitymaterial_artifact ENABLE TRIGGER securitymaterial_count_artifacts"
        )
        cursor.execute(
            """
            INSERT INTO securitymaterial_artifactcount (runtime, kind, status, total, need_person)
            SELECT runtime, kind, status, count(*),
                   count(*) FILTER (WHERE status = 'error' AND error_kind <> 'transient')
            FROM securitymaterial_artifact GROUP BY runtime, kind, status
            """
        )
    # A service that has been running has its visibility map set (autovacuum): counts can be
    # answered from an index. VACUUM cannot run inside a transaction block.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    action()  # warm caches, as a running service has them
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def arguments(description: str, default: int = 100_000) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--artifacts", type=int, default=default, help="how many to generate")
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds, not minutes")
    return parser.parse_args()


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split("\n")[0].split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB memory"
    command = ["psql", "--version"]
    postgres = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    postgres_version = postgres.stdout.strip()
    import django

    return (
        f"{cores} cores{memory}; {platform.platform()}; Python {platform.python_version()}; "
        f"Django {django.get_version()}; {postgres_version}"
    )


def table(rows: list[list[str]]) -> str:
    """A Markdown table: the first row is the header."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)
