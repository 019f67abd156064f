"""Thin Celery tasks over oauthflows.refresh: ids in, one service call.

Transient failures are not retried by Celery: the service writes the retry time into the
schedule (with backoff), so a retry survives restarts and beat picks it up.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from oauthflows import refresh


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def refresh_credential(artifact_id: int) -> str:
    """One artifact (what beat sent before batches; still taken off an older queue)."""
    return str(refresh.refresh_artifact(artifact_id))


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def refresh_credentials(artifact_ids: list[int], dispatch_round: int) -> list[str]:
    return [str(outcome) for outcome in refresh.refresh_batch(artifact_ids, dispatch_round)]


@shared_task(acks_late=True, time_limit=60, soft_time_limit=55)
def schedule_refreshes() -> int:
    return refresh.dispatch_due(timezone.now(), refresh_credentials.delay)
