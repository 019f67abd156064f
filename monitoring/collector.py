"""What /metrics reads from the shared state at each scrape: the catalogue's counts, the
refresh schedule's health, the broker's queue, the keys and readiness. Every web node
answers the same values (they share the database): alert rules take max() or min() over
instances (deploy/prometheus/alerts.yml).

Each value is one indexed read, except the count of values by key (a scan of every
encrypted column), which is kept for KEYS_EVERY_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitoring import readiness
from monitoring.instruments import PREFIX
from securitymaterial import crypto
from securitymaterial.models import (
    Artifact,
    ArtifactCount,
    ErrorKind,
    OAuth2AuthorizationCode,
    Status,
)
from securitymaterial.secrets_at_rest import values_by_key

logger = logging.getLogger(__name__)

KEYS_EVERY_SECONDS = 300
_keys_seen: tuple[float, dict[str, int]] | None = None


class SharedState(Collector):
    def collect(self) -> Iterator[Metric]:
        yield _ready()
        now = timezone.now()
        try:
            yield from _catalogue()
            yield from _refreshes(now)
            yield _secret_values()
        except (OperationalError, InterfaceError):  # away: readiness above says so
            logger.warning("metrics: the database cannot be read now")
        queued = _broker_queue()
        if queued is not None:
            yield queued


def _gauge(name: str, text: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, text, labels=labels)


def _ready() -> Metric:
    gauge = _gauge("ready", "1 when the check passes (as /readyz), 0 when it fails.", ["check"])
    for check, result in readiness.report().items():
        gauge.add_metric([check], 1.0 if result == "ok" else 0.0)
    return gauge


def _catalogue() -> Iterator[Metric]:
    artifacts = _gauge(
        "artifacts", "Artifacts by runtime, type and status.", ["runtime", "type", "status"]
    )
    person = _gauge(
        "artifacts_needing_person",
        "Artifacts in Error that will not recover by themselves: someone must authorize "
        "again or correct the settings.",
        ["runtime", "type"],
    )
    needing: dict[tuple[str, str], int] = {}
    for runtime, kind, status, total, need in ArtifactCount.by_status():
        artifacts.add_metric([runtime, kind, status], total)
        needing[runtime, kind] = needing.get((runtime, kind), 0) + need
    for (runtime, kind), need in sorted(needing.items()):
        person.add_metric([runtime, kind], need)
    yield artifacts
    yield person


def _seconds(until: datetime | None, now: datetime) -> float | None:
    return None if until is None else (until - now).total_seconds()


def _refreshes(now: datetime) -> Iterator[Metric]:
    rows = OAuth2AuthorizationCode.objects.order_by()
    # The earliest refresh-token horizon of the artifacts that hold one (Refresh Token
    # Expiry days after it last worked): a refresh must happen before it.
    # (Few artifacts differ in Refresh Token Expiry: the earliest renewal per value of it.)
    earliest = (
        rows.filter(refresh_token_renewed_at__isnull=False, refresh_token_expiry_days__isnull=False)
        .values_list("refresh_token_expiry_days")
        .annotate(renewed=Min("refresh_token_renewed_at"))
    )
    horizons = [renewed + timedelta(days=days) for days, renewed in earliest]
    yield _single(
        "refresh_token_expiry_seconds",
        "Seconds until the earliest refresh token expires if it is not used (negative: "
        "expired). Absent when no artifact holds one.",
        _seconds(min(horizons, default=None), now),
    )
    # Access tokens still valid that no refresh will replace: the integrations using them
    # stop working when they expire, unless someone authorizes again.
    stranded = rows.filter(Artifact.NEEDS_PERSON, access_token_expires_at__gt=now).aggregate(
        at=Min("access_token_expires_at")
    )
    yield _single(
        "unrefreshed_access_token_expiry_seconds",
        "Seconds until the earliest valid access token that nothing will refresh (its "
        "artifact needs a person) expires. Absent when there is none.",
        _seconds(stranded["at"], now),
    )
    oldest_due = rows.filter(next_refresh_at__lte=now).aggregate(at=Min("next_refresh_at"))
    lag = _seconds(oldest_due["at"], now)
    yield _single(
        "refresh_lag_seconds",
        "Age of the oldest refresh that is due and not yet done (0: none is late).",
        0.0 if lag is None else -lag,
    )
    yield _single(
        "refreshes_queued",
        "Artifacts beat has handed to the workers whose refresh has not run yet.",
        rows.filter(dispatched_round__isnull=False).count(),
    )
    failing = rows.filter(
        status=Status.ERROR, error_kind=ErrorKind.TRANSIENT, failing_since__isnull=False
    ).aggregate(count=Count("pk"), since=Min("failing_since"))
    yield _single(
        "refresh_failing_artifacts",
        "Artifacts whose refreshes fail for a reason that may pass (retrying).",
        failing["count"],
    )
    since = _seconds(failing["since"], now)
    yield _single(
        "refresh_failing_seconds",
        "How long the longest run of failing refreshes has lasted (0: none is failing).",
        0.0 if since is None else -since,
    )


def _single(name: str, text: str, value: float | None) -> Metric:
    gauge = _gauge(name, text)
    if value is not None:
        gauge.add_metric([], value)
    return gauge


def _secret_values() -> Metric:
    """Values by the key that encrypted them: "first" (SECURITY_MATERIAL_KEYS' first),
    "older" (another configured key, or stored before key ids: rotate_keys has work left),
    "unknown" (a key that is not configured: nothing here can open them)."""
    global _keys_seen
    if _keys_seen is None or time.monotonic() - _keys_seen[0] > KEYS_EVERY_SECONDS:
        _keys_seen = (time.monotonic(), values_by_key())
    ids = crypto.keyring().ids
    counts = {"first": 0, "older": 0, "unknown": 0}
    for key, count in _keys_seen[1].items():
        where = "first" if key == ids[0] else "older" if key in ids or not key else "unknown"
        counts[where] += count
    gauge = _gauge(
        "secret_values",
        f"Stored secret values by the key that encrypted them (counted every "
        f"{KEYS_EVERY_SECONDS} s): first, older (rotate_keys has work left), unknown (no "
        "configured key opens them).",
        ["key"],
    )
    for where, count in counts.items():
        gauge.add_metric([where], count)
    return gauge


def _broker_queue() -> Metric | None:
    """Messages waiting in the Redis broker's default queue (other brokers: absent)."""
    url = settings.CELERY_BROKER_URL
    if urlsplit(url).scheme not in {"redis", "rediss"}:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        with client:
            waiting = client.llen("celery")
    except redis.RedisError:
        return None  # readiness names the broker
    return _single("tasks_queued", "Celery tasks waiting in the broker's queue.", waiting)
