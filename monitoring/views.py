"""What operators and orchestrators ask: is the process alive, is it ready, what are the
numbers. None of it needs a session; /metrics needs METRICS_TOKEN."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from monitoring import readiness
from monitoring.collector import SharedState


@login_not_required
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process serves requests. It touches nothing else, so a database or
    broker outage does not make an orchestrator restart healthy processes."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database, the broker and the keys, each named with what failed; 503
    while any one fails, so a load balancer sends requests elsewhere."""
    checks = readiness.report()
    ready = all(result == "ok" for result in checks.values())
    response = JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


@login_not_required
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text format: this machine's processes' counters (monitoring.
    instruments) and the shared state read now (monitoring.collector)."""
    refused = _refused(request)
    if refused:
        return refused
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.METRICS_DIR))  # type: ignore[no-untyped-call]
    registry.register(SharedState())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response


def _refused(request: HttpRequest) -> HttpResponse | None:
    expected = settings.METRICS_TOKEN
    if not expected:
        text, status = "Metrics are off: set METRICS_TOKEN (or METRICS_TOKEN_FILE).\n", 403
    else:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), expected.encode("ascii")
        ):
            return None
        text, status = "Send Authorization: Bearer <METRICS_TOKEN>.\n", 401
    response = HttpResponse(text, status=status, content_type="text/plain")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    add_never_cache_headers(response)
    return response
