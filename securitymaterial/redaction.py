"""The one redaction of what a remote party said (a token endpoint's error, a mail
server's reply), applied before any cut, so no part of a secret survives the cut.

A server may quote a secret whole, in pieces (split over two lines, or around its own
words) or cut short: any run of RUN or more characters of a secret is taken out, not only
the whole of it. A secret shorter than RUN is taken out where it appears whole.
"""

from __future__ import annotations

from collections.abc import Iterable

RUN = 16
REDACTED = "[redacted]"


class Redactor:
    """Takes the given secrets out of any text; built once for many lines."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._pieces: dict[int, set[str]] = {}
        for secret in secrets:
            if secret:
                width = min(RUN, len(secret))
                pieces = self._pieces.setdefault(width, set())
                pieces.update(secret[i : i + width] for i in range(len(secret) - width + 1))

    def __call__(self, text: str, limit: int | None = None) -> str:
        """`text` without any secret or run of RUN characters of one, then cut to `limit`."""
        hidden = bytearray(len(text))
        for width, pieces in self._pieces.items():
            for start in range(len(text) - width + 1):
                if text[start : start + width] in pieces:
                    hidden[start : start + width] = b"\x01" * width
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
