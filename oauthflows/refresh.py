"""The refresh service: one function for the Celery task, the management command and the
consumer API. One refresh per artifact at a time, across processes and machines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from monitoring import instruments, logcontext
from oauthflows import client
from oauthflows.models import RefreshDispatch
from oauthflows.outcomes import TokenOutcome
from oauthproviders import PROVIDERS
from securitymaterial.models import Artifact, AuditEntry, ErrorKind, OAuth2AuthorizationCode

logger = logging.getLogger(__name__)


@dataclass
class _Answer:
    """The provider's answer, kept outside the transaction: if the database goes away after
    the provider rotated the refresh token, the new one must not go with the transaction."""

    result: client.TokenResult | None = field(default=None, repr=False)
    spent: str = field(default="", repr=False)  # the refresh token the request used


@sensitive_variables("result", "artifact", "answer")
def refresh_artifact(
    pk: int, *, force: bool = False, unless_valid_for: timedelta | None = None
) -> TokenOutcome:
    """Refresh if due (or if forced), under the artifact's lock.

    With `unless_valid_for` (a consumer needs a token): refresh unless the access token,
    read after the lock, stays valid that long. Of many consumers waiting for the same
    expiring token, the first refreshes and the others find the new token. During a
    transient outage's backoff they do not call the provider again.

    The token request happens while the lock is held: a second process waits, re-reads the
    row and finds it refreshed. The new tokens are committed in the same transaction, before
    the Celery message is acknowledged (acks_late), so a rotated refresh token is never held
    only in memory or in a message.
    """
    notify: tuple[str, str] | None = None
    answer = _Answer()
    start = time.perf_counter()
    try:
        with (
            OAuth2AuthorizationCode.locked(pk) as artifact,
            logcontext.about(artifact.runtime, artifact.name),
        ):
            outcome, notify = _refresh_locked(artifact, force, unless_valid_for, answer)
    except Artifact.DoesNotExist:  # the catalogue row is locked first; its type's too
        return TokenOutcome(f"artifact {pk}", "skipped", "deleted")  # while the task waited
    except (OperationalError, InterfaceError):
        if answer.result is None:
            raise  # nothing was spent at the provider: the schedule tries again
        outcome = _store_after_outage(pk, answer)
    instruments.count_refresh(outcome.provider, outcome.action, time.perf_counter() - start)
    if notify:
        notify_admins(*notify)
    return outcome


# What a refresh changes: saved alone, so the client secret is not re-encrypted and the
# other columns are not rewritten on every refresh.
REFRESH_FIELDS = [
    "access_token",
    "refresh_token",
    "access_token_expires_at",
    "refresh_token_renewed_at",
    "token_scope",
    "status",
    "status_reason",
    "error_kind",
    "retry_at",
    "attempts_since_success",
    "failing_since",
    "last_attempt_at",
    "last_attempt_result",
    "next_refresh_at",
    "dispatched_round",
    "dispatched_at",
    "refresh_days",
]
# What rescheduling changes (OAuth2AuthorizationCode.reschedule).
SCHEDULE_FIELDS = ["next_refresh_at", "dispatched_round", "dispatched_at"]
# Those of them in the catalogue's table (Artifact), which the list reads.
CATALOGUE_FIELDS = [
    name
    for name in REFRESH_FIELDS
    if OAuth2AuthorizationCode._meta.get_field(name).model is Artifact
]


@sensitive_variables("result", "artifact", "answer")
def _store_after_outage(pk: int, answer: _Answer) -> TokenOutcome:
    """The database went away (a restart, a failover) after the provider answered: keep
    trying to store the new tokens, on a new connection, for REFRESH_STORE_RETRY_SECONDS.
    Tokens stored meanwhile by someone else (a newer refresh, a new authorization) win."""
    assert answer.result is not None
    deadline = time.monotonic() + settings.REFRESH_STORE_RETRY_SECONDS
    pause = 0.5
    while True:
        connection.close()  # the broken one; the next query connects again
        try:
            with OAuth2AuthorizationCode.locked(pk) as artifact:
                if artifact.refresh_token != answer.spent:
                    return TokenOutcome(artifact.name, "skipped", "newer tokens stored meanwhile")
                artifact.record_refresh(answer.result, timezone.now())
                artifact.note_refresh(timezone.now())
                artifact.save(update_fields=REFRESH_FIELDS)
        except Artifact.DoesNotExist:
            return TokenOutcome(f"artifact {pk}", "skipped", "deleted")
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > deadline:
                logger.error("the new tokens of artifact %s were lost: the database is gone", pk)
                raise
            time.sleep(pause)  # the database's restart, not a test: back off and try again
            pause = min(pause * 2, 5)
            continue
        logger.warning("refreshed %s; stored once the database was back", artifact.name)
        return TokenOutcome(
            artifact.name, "refreshed", "stored once the database was back", artifact.provider
        )


@sensitive_variables("result", "artifact", "answer")
def _refresh_locked(
    artifact: OAuth2AuthorizationCode,
    force: bool,
    unless_valid_for: timedelta | None,
    answer: _Answer,
) -> tuple[TokenOutcome, tuple[str, str] | None]:
    notify: tuple[str, str] | None = None
    now = timezone.now()
    if not artifact.refresh_token or artifact.needs_person:
        artifact.reschedule(now)
        artifact.save(update_fields=SCHEDULE_FIELDS)
        return TokenOutcome(artifact.name, "skipped", "not authorized"), None
    if unless_valid_for is not None:
        if artifact.access_token_valid_for(unless_valid_for, now):
            return TokenOutcome(artifact.name, "skipped", "still valid"), None
        if artifact.error_kind == ErrorKind.TRANSIENT and (artifact.retry_at or now) > now:
            return TokenOutcome(artifact.name, "skipped", "backing off"), None
    elif not force and not artifact.refresh_due(now):
        # Another process refreshed it while this one waited for the lock, or beat's
        # schedule moved; either way nothing to spend a refresh token on.
        artifact.reschedule(now)
        artifact.save(update_fields=SCHEDULE_FIELDS)
        return TokenOutcome(artifact.name, "skipped", "not due"), None
    try:
        result = client.refresh(
            PROVIDERS[artifact.provider],
            artifact.token_service_url,
            client.ClientAuth(artifact.client_id, artifact.client_secret, artifact.send_as),
            refresh_token=artifact.refresh_token,
            scope=artifact.scope,
        )
    except client.TransientTokenError as error:
        artifact.note_refresh(now, error.message)
        if artifact.record_transient_failure(error.message, error.retry_after, now):
            notify = (
                f"{artifact.name} has not been refreshed for "
                f"{settings.REFRESH_ALERT_AFTER_HOURS} hours",
                _outage_text(artifact),
            )
        artifact.save()
        logger.warning("refresh of %s failed, retrying at %s", artifact.name, artifact.retry_at)
        outcome = TokenOutcome(artifact.name, "retrying", error.message, artifact.provider)
    except client.TokenError as error:
        kind = (
            ErrorKind.REAUTHORIZE
            if isinstance(error, client.ReauthorizationRequired)
            else ErrorKind.CONFIGURATION
        )
        artifact.record_permanent_failure(error.message, kind, now)
        detail = f"{ErrorKind(kind).label}: {error.message}"
        if error.support_ids:
            detail += f" ({error.support_ids})"
        artifact.note_refresh(now, detail)
        artifact.save()
        AuditEntry.record(artifact, AuditEntry.Action.REFRESH_FAILED, detail=detail)
        notify = (
            f"{artifact.name} needs your attention",
            f"The OAuth2 Authorization Code credential {artifact.name} stopped working "
            f"and will not recover by itself.\n\n{artifact.status_hint}",
        )
        outcome = TokenOutcome(artifact.name, "needs a person", detail, artifact.provider)
    else:
        answer.result, answer.spent = result, artifact.refresh_token
        shown = {name: getattr(artifact, name) for name in CATALOGUE_FIELDS}
        artifact.record_refresh(result, now)
        artifact.note_refresh(now)
        # A healthy artifact's status stays as it was: then its catalogue row is not written
        # (one UPDATE fewer per refresh, and the list's indexes are left alone).
        same = {name for name, value in shown.items() if getattr(artifact, name) == value}
        artifact.save(update_fields=[name for name in REFRESH_FIELDS if name not in same])
        logger.info("refreshed %s; next at %s", artifact.name, artifact.next_refresh_at)
        return TokenOutcome(artifact.name, "refreshed", provider=artifact.provider), None
    return outcome, notify


def due_artifacts(now: datetime) -> list[int]:
    """Artifacts a worker must look at now: one indexed range query."""
    return list(
        OAuth2AuthorizationCode.objects.filter(next_refresh_at__lte=now)
        .order_by("next_refresh_at")
        .values_list("pk", flat=True)[:DISPATCH_LIMIT]
    )


DISPATCH_LIMIT = 1000  # per round: beat comes back in REFRESH_SCHEDULE_SECONDS
BATCH = 10  # artifacts per task: a backlog costs one message per ten refreshes


def dispatch_due(now: datetime, enqueue: Callable[[list[int], int], object]) -> int:
    """Hand each due artifact to a worker once, in batches of BATCH, and never again while
    its task is still queued, however long the queue takes to drain.

    Each round marks what it hands out with its number. A marked artifact is handed out
    again only when its task was lost: a worker started a task of a later round (the queue
    is first in, first out, so the older one left it), or no worker has started any task
    for REFRESH_DISPATCH_LEASE_SECONDS while it waited (the workers were down or the broker
    lost its queue). Several beats may run: each takes the rows it marks with SKIP LOCKED,
    so two never mark the same row, and the round counter is one row they share."""
    with transaction.atomic():
        progress = _progress(lock=True)
        progress.round += 1
        pks = list(dispatchable(now, progress)[:DISPATCH_LIMIT])
        if not pks:
            return 0
        progress.handed_out += len(pks)
        progress.save(update_fields=["round", "handed_out"])
        OAuth2AuthorizationCode.objects.filter(pk__in=pks).update(
            dispatched_round=progress.round, dispatched_at=now
        )
        for start in range(0, len(pks), BATCH):
            transaction.on_commit(partial(enqueue, pks[start : start + BATCH], progress.round))
    return len(pks)


def dispatchable(now: datetime, progress: RefreshDispatch) -> QuerySet[Any, int]:
    """The due artifacts beat may hand out now (dispatch_due says which), in the order they
    are due, locked for this transaction and skipping what another holds: a range of the
    next_refresh_at index."""
    lease = timedelta(seconds=settings.REFRESH_DISPATCH_LEASE_SECONDS)
    lost = Q(dispatched_round__lt=progress.started_round)
    if progress.started_at is None or progress.started_at < now - lease:
        lost |= Q(dispatched_at__lt=now - lease)
    return (
        OAuth2AuthorizationCode.objects.filter(next_refresh_at__lte=now)
        .filter(Q(dispatched_round__isnull=True) | lost)
        .order_by("next_refresh_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)
    )


def refresh_batch(pks: list[int], round_: int) -> list[TokenOutcome]:
    """A worker's task: the batch's artifacts one after the other, each committed before the
    next starts (refresh_artifact). One refresh may take TOKEN_REQUEST_TIMEOUT_SECONDS and
    REFRESH_STORE_RETRY_SECONDS: the batch starts none it could not finish before the
    task's soft time limit (securitymaterial.E004 keeps room for the first). What it leaves
    keeps its mark: a later round's start hands it out again."""
    started(round_, timezone.now())
    needed = settings.TOKEN_REQUEST_TIMEOUT + settings.REFRESH_STORE_RETRY_SECONDS + 10
    stop_at = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT - needed
    outcomes = []
    for position, pk in enumerate(pks):
        if position and time.monotonic() > stop_at:
            break
        outcomes.append(refresh_artifact(pk))
    return outcomes


def started(round_: int, now: datetime) -> None:
    """A worker took a task of this round off the queue: every earlier round's task has
    left it (each artifact's mark goes when its refresh reschedules it)."""
    # One indexed read; a write for a new round, else at most four times a lease (the
    # lease then never runs out while workers take tasks).
    progress = _progress(lock=False)
    liveness = timedelta(seconds=settings.REFRESH_DISPATCH_LEASE_SECONDS) / 4
    if (
        progress.started_round < round_
        or progress.started_at is None
        or progress.started_at < now - liveness
    ):
        RefreshDispatch.objects.filter(pk=progress.pk).update(
            started_round=Greatest("started_round", Value(round_)), started_at=now
        )


def _progress(*, lock: bool) -> RefreshDispatch:
    rows = RefreshDispatch.objects.select_for_update() if lock else RefreshDispatch.objects
    progress, _ = rows.get_or_create(pk=RefreshDispatch.ONE)
    return progress


def _outage_text(artifact: OAuth2AuthorizationCode) -> str:
    expires = artifact.refresh_token_expires_at
    deadline = (
        f" If it cannot refresh before {expires:%Y-%m-%d %H:%M} UTC, when the refresh token "
        "expires, someone must authorize it again."
        if expires
        else ""
    )
    return (
        f"The OAuth2 Authorization Code credential {artifact.name} has failed to refresh "
        f"since {artifact.failing_since:%Y-%m-%d %H:%M} UTC and keeps retrying. Its "
        f"integrations still get the last access token while it is valid.\n\n"
        f"{artifact.status_hint}{deadline}"
    )


def notify_admins(subject: str, text: str) -> None:
    """Mail everyone who may authorize it; Django's mail settings (console by default)."""
    perm = Q(user_permissions__codename="operate_artifact") | Q(
        groups__permissions__codename="operate_artifact"
    )
    recipients = sorted(
        set(
            get_user_model()
            .objects.filter(is_active=True)
            .filter(perm | Q(is_superuser=True))
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients:
        logger.warning("no admin has an e-mail address for: %s", subject)
        return
    link = f"{settings.PUBLIC_BASE_URL}/monitor/integrations/security-material/"
    send_mail(
        f"Security Material: {subject}", f"{text}\n\n{link}\n", None, recipients, fail_silently=True
    )
