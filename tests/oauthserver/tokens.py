"""Access tokens as long as Microsoft's (1.5-2.5 KB) for clients whose id starts with
"long-", the usual 30 characters for the others."""

from __future__ import annotations

from typing import Any

from oauthlib.common import generate_token


def access_token(request: Any) -> str:
    return generate_token(2048 if str(request.client_id or "").startswith("long-") else 30)
