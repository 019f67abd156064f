"""The counters and histograms every process adds to: web workers (API requests, sign-ins),
Celery workers (refreshes). /metrics sums them over all processes of a machine (monitoring.
views). A leaf module: it imports no app, so every layer may count.

Labels are few and fixed (never an artifact's name, never a secret): the README lists
every metric. The files live in PROMETHEUS_MULTIPROC_DIR (config.settings sets it), one per
process and kind, named by host and process id: containers that share the directory
(docker-compose.yml) have process ids of their own and would otherwise write one file.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram, values

_HOST = socket.gethostname().replace("_", "-")  # prometheus_client splits file names on "_"
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")  # type: ignore[no-untyped-call]

PREFIX = "security_material_"

# Refresh outcomes: "refreshed", "retrying" (a transient failure), "needs_person".
REFRESHES = Counter(
    PREFIX + "refreshes",
    "Refreshes of OAuth2 Authorization Code artifacts that asked the provider, by outcome.",
    ["provider", "outcome"],
)
REFRESH_SECONDS = Histogram(
    PREFIX + "refresh_duration_seconds",
    "Time of a refresh that asked the provider: lock, token request and store.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60),
)
# api: "token" (GET …/access-token) or "secret" (GET /api/v1/security-material/{name});
# code: the HTTP status of the answer.
API_REQUESTS = Counter(
    PREFIX + "api_requests", "Consumer API requests, by API and HTTP status.", ["api", "code"]
)
API_SECONDS = Histogram(
    PREFIX + "api_request_duration_seconds",
    "Time to answer a consumer API request, a refresh on the way included.",
    ["api"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SIGN_IN_FAILURES = Counter(
    PREFIX + "sign_in_failures", "Sign-ins refused: a wrong name or password, or a locked name."
)
SIGN_IN_LOCKOUTS = Counter(
    PREFIX + "sign_in_lockouts",
    "Sign-ins that locked a name at an address (LOGIN_FAILURE_LIMIT) or met its lock.",
)


# TokenOutcome.action -> the outcome label.
REFRESH_OUTCOMES = {
    "refreshed": "refreshed",
    "retrying": "retrying",
    "needs a person": "needs_person",
}


def count_refresh(provider: str, action: str, seconds: float) -> None:
    """A refresh that asked the provider (`provider` is blank when none was asked)."""
    if provider and action in REFRESH_OUTCOMES:
        REFRESH_SECONDS.labels(provider).observe(seconds)
        REFRESHES.labels(provider, REFRESH_OUTCOMES[action]).inc()


def measured(api: str, view: Callable[..., Any]) -> Callable[..., Any]:
    """The view, counted and timed by status (kept answers included: wrap it outermost)."""

    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        code = "500"
        try:
            response = view(request, *args, **kwargs)
            code = str(response.status_code)
            return response
        finally:
            API_SECONDS.labels(api).observe(time.perf_counter() - start)
            API_REQUESTS.labels(api, code).inc()

    wrapped.__name__ = getattr(view, "__name__", "api_view")
    wrapped.__dict__.update(getattr(view, "__dict__", {}))  # csrf_exempt, login_not_required
    return wrapped
