"""The token API's answers, kept in the process that gave them until what they depend on
changes.

An integration that sends mail asks for the same artifact's token many times a second.
Each answer took two SELECTs and the ORM's work to build them, for a token that had not
changed. Here a 200 answer is kept under the API token's hash, the runtime and the name,
and the same question gets the same bytes without a query, while:

- nothing it depends on changed. Every save or delete of an artifact or an API token sends
  a PostgreSQL NOTIFY in its own transaction (so it arrives exactly when the change is
  committed, or never if it rolls back); each web process listens on its own connection
  and drops the answers of that artifact or token. A revoked API token, a deleted or
  re-authorized artifact, a failed refresh or changed grants take effect within 1 s (the
  product's bound, issue 19): the listener polls its connection every POLL_SECONDS, and an
  answer is given only if a poll finished less than LIVE_SECONDS ago, so every change
  committed before then has been heard.
- the listener is not live (SQLite, the database restarting): then an answer read less
  than 1 s ago is still given, and nothing older: the same bound, by time alone.
- its token stays valid for what the caller asks (`min_valid_seconds`, capped at half the
  token's lifetime, as oauthflows.access decides), and it is younger than
  TOKEN_ANSWER_CACHE_SECONDS (default 60; 0 turns keeping off).

A question that is not plain (another parameter, a parameter twice, anything the full path
would refuse) always goes the full path, which also records the first use in a minute.

The announcement rides on Django's post_save and post_delete: a queryset's update() sends
none. Code that changes a column an answer depends on must save() the instance (today only
bookkeeping columns are updated in bulk: last use, the refresh schedule and dispatch marks,
and the reason of an Unauthorized artifact, whose question gets a 409 that is never kept).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from api.models import PREFIX, ApiToken, token_hash
from securitymaterial.models import Artifact, Runtime
from securitymaterial.models.tokens import token_margin

logger = logging.getLogger(__name__)

CHANNEL = "security_material_answers"
POLL_SECONDS = 0.25
LIVE_SECONDS = 0.75  # a poll finished this recently: every change before it was heard
UNHEARD_SECONDS = 1.0  # without a live listener, answers this young are still given
MAX_ANSWERS = 10_000  # per process; the oldest go first
# The query string a kept answer may be given for: what the full path takes, in the
# shapes it takes them (anything else goes to it, for its answer or its error).
QUERY_RE = re.compile(r"(?:(?:runtime=[a-z-]{1,20}|min_valid_seconds=[0-9]{1,5})&?){0,2}")


@dataclass(frozen=True)
class Question:
    key: tuple[str, str, str]  # the API token's hash, the runtime, the name in lower case
    min_valid_seconds: int
    asked_at: float = field(default_factory=time.monotonic)  # before anything was read
    generation: int = 0


@dataclass(frozen=True)
class Kept:
    body: bytes = field(repr=False)
    content_type: str
    token_pk: int
    artifact_pk: int
    expires_at: datetime | None
    lifetime: timedelta | None  # the provider's lifetime of the token, if known
    read_at: float  # time.monotonic() when the full path began to read it


class _Store:
    """The kept answers of this process, and what its listener heard."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str, str], Kept] = {}
        self.lock = threading.Lock()
        self.generation = 0  # moves on with every change heard: an answer read before it is stale
        self.live_at = float("-inf")  # time.monotonic() when the last poll began
        self.listener: threading.Thread | None = None

    def drop(self, kind: str, pk: int) -> None:
        with self.lock:
            self.generation += 1
            attribute = "token_pk" if kind == "t" else "artifact_pk"
            for key in [k for k, v in self.kept.items() if getattr(v, attribute) == pk]:
                del self.kept[key]

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.kept.clear()


store = _Store()


def question(request: HttpRequest, name: str) -> Question | None:
    """What the request asks, if it is a plain question a kept answer may settle."""
    header = request.headers.get("Authorization", "")
    secret = header[7:] if header[:7].lower() == "bearer " else ""
    query = request.META.get("QUERY_STRING", "")
    if not secret.startswith(PREFIX) or len(secret) > 100 or not QUERY_RE.fullmatch(query):
        return None
    parts = [part.split("=", 1) for part in query.split("&") if part]
    params = dict(parts)
    if len(params) != len(parts):  # a parameter twice: the full path says which counts
        return None
    runtime = params.get("runtime", Runtime.CLOUD)
    wanted = int(params.get("min_valid_seconds", 300))
    if runtime not in Runtime.values or wanted > 86400:
        return None
    return Question(
        (token_hash(secret), runtime, name.lower()), wanted, generation=store.generation
    )


def answer(asked: Question) -> HttpResponse | None:
    """The kept answer, if it may still be given (the module's rules)."""
    kept = store.kept.get(asked.key)
    if kept is None:
        return None
    now = time.monotonic()
    age = now - kept.read_at
    if age >= settings.TOKEN_ANSWER_CACHE_SECONDS:
        return None
    if now - store.live_at >= LIVE_SECONDS and age >= UNHEARD_SECONDS:
        return None
    margin = token_margin(asked.min_valid_seconds, kept.lifetime)
    if kept.expires_at is not None and kept.expires_at - timezone.now() <= margin:
        return None  # as oauthflows.access decides: the full path refreshes it first
    return HttpResponse(kept.body, content_type=kept.content_type)


@dataclass(frozen=True)
class Given:
    """What the full path tells the cache about a token it handed out."""

    token_pk: int
    artifact_pk: int
    expires_at: datetime | None
    lifetime: timedelta | None


def keep(asked: Question, response: HttpResponse, given: Given) -> None:
    if response.status_code != 200:
        return
    kept = Kept(
        response.content,
        response["Content-Type"],
        given.token_pk,
        given.artifact_pk,
        given.expires_at,
        given.lifetime,
        asked.asked_at,
    )
    with store.lock:
        if store.generation != asked.generation:
            return  # a change was heard while it was read: it may be stale
        if len(store.kept) >= MAX_ANSWERS:
            del store.kept[next(iter(store.kept))]
        store.kept[asked.key] = kept


def cached(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The token API's view, answering from what it kept when it may."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        asked = None
        if settings.TOKEN_ANSWER_CACHE_SECONDS and request.method == "GET":
            _listen()
            asked = question(request, kwargs.get("name", ""))
        if asked is not None:
            response = answer(asked)
            if response is not None:
                return response
        response = view(request, *args, **kwargs)
        given: Given | None = getattr(request, "given_token", None)
        if asked is not None and given is not None:
            keep(asked, response, given)
        return response

    wrapped.__name__ = getattr(view, "__name__", "access_token")
    return wrapped


# The sending side: in the transaction of every change an answer depends on.


# Columns no answer depends on: a save of these alone (beat's schedule, a use) says nothing.
NOT_ANSWERED = frozenset({"next_refresh_at", "dispatched_round", "dispatched_at", "last_used_at"})


def _changed(sender: type, instance: Any, using: str = "default", **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= NOT_ANSWERED:
        return
    if isinstance(instance, Artifact):
        payload = f"a {instance.pk}"
    elif isinstance(instance, ApiToken):
        payload = f"t {instance.pk}"
    else:
        return
    from django.db import connections

    target = connections[using]
    if target.vendor == "postgresql" and instance.pk is not None:
        with target.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


post_save.connect(_changed, dispatch_uid="api.answers.saved")
post_delete.connect(_changed, dispatch_uid="api.answers.deleted")


# The listening side: one thread and one connection per process.


def _listen() -> None:
    if store.listener is not None or connection.vendor != "postgresql":
        return
    with store.lock:
        if store.listener is None:
            store.listener = threading.Thread(target=_run, name="answers-listener", daemon=True)
            store.listener.start()


def listener_params() -> dict[str, Any]:
    """The database Django uses, as plain psycopg connection arguments (Django's own cursor
    class and adapters are for its connections only)."""
    return {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in {"cursor_factory", "context", "prepare_threshold"}
    }


def _run() -> None:
    params = listener_params()
    while True:
        try:
            with psycopg.connect(**params, autocommit=True, connect_timeout=5) as listening:
                listening.add_notify_handler(_heard)
                listening.execute(f"LISTEN {CHANNEL}")
                store.clear()  # what changed while nobody listened is unknown
                while True:
                    began = time.monotonic()
                    listening.execute("SELECT 1")  # delivers every notification before it
                    store.live_at = began
                    time.sleep(POLL_SECONDS)
        except Exception:  # the database restarts: answers go by time alone meanwhile
            store.live_at = float("-inf")
            logger.warning("not listening for changes; retrying in 1 s", exc_info=False)
            time.sleep(1)


def _heard(notify: psycopg.Notify) -> None:
    kind, _, pk = notify.payload.partition(" ")
    with contextlib.suppress(ValueError):
        store.drop(kind, int(pk))
