"""What a token request for an artifact came to: the one result of the refresh service
(authorization code) and of client credentials fetched on demand, for the Celery task, the
commands, the pages and the consumers alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenOutcome:
    name: str
    action: str  # "refreshed", "fetched", "skipped", "retrying", "needs a person"
    detail: str = ""
    provider: str = ""  # the provider asked for a token, if one was (monitoring counts it)

    def __str__(self) -> str:
        return f"{self.name}: {self.action}" + (f" ({self.detail})" if self.detail else "")
