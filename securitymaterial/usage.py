"""Who uses an artifact, recorded off the token API's latency path.

A consumer's first use of an artifact in a minute writes its "last used" and an audit row
("Issued to API token …"). On the token API that was two writes and a durable commit on
the request: with many integrations asking for different artifacts it was most of the
request's time. Here the API hands the use to a thread of its process, which writes what
gathered in one transaction every USE_RECORD_DELAY_SECONDS (default 1).

What can be lost: nothing on a clean shutdown (gunicorn's worker_exit hook and atexit
write what is pending). If the process is killed (SIGKILL, out of memory, power), the uses
of its last second are lost: "last used" is then up to a second older than it should be
and an "Issued to" row is missing. Nothing else depends on them; reads of secrets (User
Credentials, Secure Parameters) are never deferred: each is audited in its own request.

With USE_RECORD_DELAY_SECONDS=0 every use is written at once, in the caller's request.
"""

from __future__ import annotations

import atexit
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from securitymaterial.models import Artifact, AuditEntry

logger = logging.getLogger(__name__)

# Pending uses are bounded: if the database is gone for long, the oldest are dropped (and
# said so) rather than the process growing without end.
MAX_PENDING = 10_000


@dataclass(frozen=True)
class Use:
    artifact_id: int
    runtime: str
    name: str
    at: datetime
    via: str


_pending: dict[int, Use] = {}  # by artifact: the first use in the interval is the one kept
_lock = threading.Lock()
_wake = threading.Event()
_writer: threading.Thread | None = None


def record(artifact: Artifact, at: datetime, via: str) -> None:
    """A consumer was given a token of `artifact` at `at`, by `via` (the audit's words).
    Recorded at most once a minute per artifact (Artifact.USE_RECORDED_EVERY). A use that
    changes more than bookkeeping (an idle artifact's refresh schedule) is written at once."""
    last = artifact.last_used_at
    if last is not None and at - last < artifact.USE_RECORDED_EVERY:
        return
    if not settings.USE_RECORD_DELAY_SECONDS or artifact.use_moves_schedule(at):
        with transaction.atomic():  # one commit for both writes
            if artifact.mark_used(at):
                issued = AuditEntry.Action.TOKEN_ISSUED
                AuditEntry.record(artifact, issued, detail=f"Issued to {via}")
        return
    use = Use(artifact.pk, artifact.runtime, artifact.name, at, via)
    with _lock:
        if use.artifact_id in _pending:
            return
        if len(_pending) >= MAX_PENDING:
            logger.warning("dropped a use of %s: %s uses wait to be written", use.name, MAX_PENDING)
            return
        _pending[use.artifact_id] = use
        _start_writer()


def flush() -> None:
    """Write every pending use now (at shutdown, and by the writer thread)."""
    with _lock:
        uses = list(_pending.values())
        _pending.clear()
    if not uses:
        return
    try:
        _write(uses)
    except DatabaseError:
        logger.warning("could not record %s uses yet: the database is unavailable", len(uses))
        with _lock:  # tried again next time
            for use in uses:
                _pending.setdefault(use.artifact_id, use)
        connection.close()  # the next attempt connects again


def _write(uses: list[Use]) -> None:
    """Three round trips for any number of uses: each artifact's last_used_at, which of
    them are still there, and their audit rows (as AuditEntry.record writes them)."""
    ids = [use.artifact_id for use in uses]
    table = connection.ops.quote_name(Artifact._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:  # one round trip on PostgreSQL (a pipeline)
            cursor.executemany(
                f"UPDATE {table} SET last_used_at = %s WHERE id = %s",  # noqa: S608
                [(connection.ops.adapt_datetimefield_value(u.at), u.artifact_id) for u in uses],
            )
        present = set(Artifact.objects.filter(pk__in=ids).values_list("pk", flat=True))
        AuditEntry.objects.bulk_create(
            AuditEntry(
                artifact_id=use.artifact_id,
                runtime=use.runtime,
                artifact_name=use.name,
                action=AuditEntry.Action.TOKEN_ISSUED,
                actor_name=AuditEntry.SERVICE,
                at=use.at,
                detail=f"Issued to {use.via}"[:1000],
            )
            for use in uses
            if use.artifact_id in present
        )


def _start_writer() -> None:
    global _writer  # one writer per process
    if _writer is not None and _writer.is_alive():
        return
    _writer = threading.Thread(target=_run, name="usage-writer", daemon=True)
    _writer.start()


def _run() -> None:
    while True:
        _wake.wait(settings.USE_RECORD_DELAY_SECONDS)
        _wake.clear()
        try:
            flush()
        except Exception:  # the writer must outlive any one failure
            logger.exception("recording uses failed")


atexit.register(flush)
