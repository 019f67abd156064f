"""What a log line is about beyond its message: the request or Celery task it belongs to,
and the artifact being worked on. The JSON log format (config.logs) adds them to each line.
A leaf module: every layer may say what it works on."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_artifact: ContextVar[tuple[str, str] | None] = ContextVar("artifact", default=None)

# A caller's X-Request-ID is kept only if it is this plain (it goes into every log line).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id() -> str:
    return _request_id.get()


def artifact() -> tuple[str, str] | None:
    """(runtime, name) of the artifact being worked on, if any."""
    return _artifact.get()


def new_request_id(given: str = "") -> str:
    return given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex


def begin(request_id: str) -> None:
    """A request or a Celery task starts: its id, and no artifact yet. Ended by end(), after
    the last line about it (Django logs a refused request after the middleware returned;
    request_finished comes after that)."""
    _request_id.set(request_id)
    _artifact.set(None)


def end() -> None:
    _request_id.set("")
    _artifact.set(None)


def concerns(runtime: str, name: str) -> None:
    """From here to the end of the request or task, lines are about this artifact."""
    _artifact.set((runtime, name))


@contextmanager
def about(runtime: str, name: str) -> Iterator[None]:
    """Lines inside are about this artifact (a task that works on several in turn)."""
    token = _artifact.set((runtime, name))
    try:
        yield
    finally:
        _artifact.reset(token)
