"""Decrypt every stored secret and token with SECURITY_MATERIAL_KEYS, and say which key
encrypted how many: the full check (the start-up check only decrypts values whose key is
not configured)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from securitymaterial import crypto
from securitymaterial.secrets_at_rest import listed, unreadable, values_by_key


def key_report() -> str:
    """Which configured key (by position) encrypted how many values, and how many values
    name no configured key or none (stored before key ids)."""
    ids = crypto.keyring().ids
    counts = values_by_key()
    parts = [f"key {ids.index(k) + 1}: {n}" for k, n in sorted(counts.items()) if k in ids]
    if counts.get(""):
        parts.append(f"from before key ids: {counts['']} (rotate_keys gives them one)")
    others = sum(n for k, n in counts.items() if k and k not in ids)
    if others:
        parts.append(f"under a key that is not configured: {others}")
    return "Stored values by key: " + ("; ".join(parts) or "none") + "."


class Command(BaseCommand):
    help = "Decrypt every stored secret; name what no configured key can read."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(key_report())
        found = unreadable(decrypt_all=True)
        if found:
            raise CommandError(
                f"{len(found)} stored record(s) cannot be decrypted with SECURITY_MATERIAL_KEYS: "
                f"{listed(found, 50)}."
            )
        self.stdout.write(self.style.SUCCESS("Every stored value decrypts."))
