"""The one redaction of what a remote party said (a token endpoint's error, a mail
server's reply), applied before any cut, so no part of a secret survives the cut.

A server may quote a secret whole, in pieces (split over two lines, or around its own
words) or cut short: any run of RUN or more characters of a secret is taken out, not only
the whole of it. A secret shorter than RUN is taken out where it stands as a word of its
own, not inside other words: a client secret "s" must not make "server_error" unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RUN = 16
REDACTED = "[redacted]"


class Redactor:
    """Takes the given secrets out of any text; built once for many lines."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._runs: set[str] = set()
        self._short = re.compile("$^")  # matches nothing
        short = []
        for secret in secrets:
            if len(secret) >= RUN:
                self._runs.update(secret[i : i + RUN] for i in range(len(secret) - RUN + 1))
            elif secret:
                short.append(re.escape(secret))
        if short:
            # Longest first, so that of two secrets one inside the other the whole goes.
            alternatives = "|".join(sorted(short, key=len, reverse=True))
            self._short = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")

    def __call__(self, text: str, limit: int | None = None) -> str:
        """`text` without any secret or run of RUN characters of one, then cut to `limit`."""
        hidden = bytearray(len(text))
        if self._runs:
            for start in range(len(text) - RUN + 1):
                if text[start : start + RUN] in self._runs:
                    hidden[start : start + RUN] = b"\x01" * RUN
        for match in self._short.finditer(text):
            hidden[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
        if any(hidden):
            parts: list[str] = []
            for index, char in enumerate(text):
                if not hidden[index]:
                    parts.append(char)
                elif index == 0 or not hidden[index - 1]:
                    parts.append(REDACTED)
            text = "".join(parts)
        return text if limit is None else text[:limit]


def redact(text: str, secrets: Iterable[str], limit: int | None = None) -> str:
    return Redactor(secrets)(text, limit)
