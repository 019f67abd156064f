"""/metrics as shipped: two gunicorn workers and a Celery worker (and beat) count into one
directory, and a scrape of either web worker shows the sum, with values checked. Then a
real Prometheus (Debian's) scrapes the app and evaluates the shipped alert rules: a refresh
that fails against the real OAuth server makes SecurityMaterialArtifactsNeedPerson fire."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml
from django.conf import settings
from django.utils import timezone
from prometheus_client.mmap_dict import MmapedDict

from api.models import ApiToken
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET, TEST_KEY
from tests.support.mailservers import free_port
from tests.support.metrics import Samples, parse, value
from tests.support.oauth_server import OAuthServer
from tests.support.processes import (
    ROOT,
    celery,
    gunicorn_process,
    read_until,
    start,
    stop,
    test_database_url,
)

pytestmark = pytest.mark.slow
BROKER = "redis://127.0.0.1:6379/15"
METRICS_TOKEN = "metrics-token-across-processes-0123"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class Stack:
    def __init__(self, url: str, metrics_dir: Path, web: Any, worker: Any) -> None:
        self.url, self.metrics_dir, self.web, self.worker = url, metrics_dir, web, worker

    def scrape(self) -> Samples:
        answer = requests.get(
            f"{self.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return parse(answer.text)

    def counted_by(self, metric: str) -> set[int]:
        """The processes whose counter file holds a count of `metric` (monitoring.
        instruments names the files by host and process id)."""
        found = set()
        for path in self.metrics_dir.glob("counter_*.db"):
            pid = int(re.search(r"-(\d+)\.db$", path.name).group(1))  # type: ignore[union-attr]
            for key, count, *_ in MmapedDict.read_all_values_from_file(str(path)):
                if json.loads(key)[0] == metric and count > 0:
                    found.add(pid)
        return found


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.fixture
def stack(tmp_path: Path, transactional_db: None) -> Iterator[Stack]:
    redis.Redis.from_url(BROKER).flushdb()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    shared = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": METRICS_TOKEN,
        "CELERY_BROKER_URL": BROKER,
        "REFRESH_SCHEDULE_SECONDS": "1",
        "ALLOW_LOOPBACK_TOKEN_ENDPOINTS": "true",
        "LOG_FORMAT": "json",
    }
    worker_env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SECURITY_MATERIAL_KEYS": TEST_KEY,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "SECURITY_MATERIAL_VAR_DIR": str(tmp_path / "worker"),
        **shared,
    }
    worker_args = ("worker", "--concurrency", "1", "--without-mingle", "--without-gossip")
    with ExitStack() as stack:
        url, web = stack.enter_context(
            gunicorn_process(tmp_path / "web", "--workers", "2", env=shared)
        )
        worker = stack.enter_context(celery(worker_env, *worker_args, "--loglevel", "INFO"))
        beat_args = ("beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO")
        stack.enter_context(celery(worker_env, *beat_args))
        yield Stack(url, metrics_dir, web, worker)


def due(oauth_server: OAuthServer, make_artifact: Any, name: str, refresh_token: str = "") -> Any:
    """Due for its refresh token's renewal; with a refresh token the server issued unless
    one is given."""
    oauth_server.register_client(name, CLIENT_SECRET, "http://localhost/cb/", "body")
    now = timezone.now()
    artifact = make_artifact(
        name=name,
        client_id=name,
        token_service_url=f"{oauth_server.url}/o/token/",
        status=Status.DEPLOYED,
        access_token="AT-0",
        refresh_token=refresh_token or oauth_server.issue_refresh_token(name),
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now - timedelta(days=46),
        access_token_expires_at=now + timedelta(hours=1),
    )
    artifact.reschedule(now)
    artifact.save()
    return artifact


def settled(artifact: Any, timeout: float = 60) -> OAuth2AuthorizationCode:
    """The artifact once beat's task has refreshed it, or failed to."""
    deadline = time.monotonic() + timeout
    while True:
        stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
        if stored.last_attempt_at is not None:
            return stored
        assert time.monotonic() < deadline, "no worker refreshed it"
        time.sleep(0.1)


def test_metrics_sum_two_web_workers_and_a_celery_worker(
    stack: Stack, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    before = stack.scrape()
    good = due(oauth_server, make_artifact, "metrics-good")
    assert settled(good).status == Status.DEPLOYED
    bad = due(oauth_server, make_artifact, "metrics-bad", "RT-the-server-never-issued")
    assert settled(bad).needs_person

    # API calls, two at a time, until both web workers have answered some.
    _, secret = ApiToken.create("metrics-consumer")
    path = "/api/v1/security-material/metrics-good/access-token"
    codes: list[int] = []
    web_workers = children(stack.web.pid)
    assert len(web_workers) == 2

    def ask() -> None:
        for _ in range(10):
            answer = requests.get(
                stack.url + path, headers={"Authorization": f"Bearer {secret}"}, timeout=30
            )
            codes.append(answer.status_code)

    rounds = 0
    while not web_workers <= stack.counted_by("security_material_api_requests"):
        threads = [threading.Thread(target=ask) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds += 1
        assert rounds < 20, "one web worker answered every request"
    assert set(codes) == {200}
    celery_pool = children(stack.worker.pid)
    assert stack.counted_by("security_material_refreshes") == celery_pool

    for _ in range(3):  # whichever web worker answers the scrape, the sums are the same
        after = stack.scrape()

        def delta(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)  # noqa: B023

        refreshes = "security_material_refreshes_total"
        assert delta(refreshes, provider="generic", outcome="refreshed") == 1
        assert delta(refreshes, provider="generic", outcome="needs_person") == 1
        refresh_seconds = "security_material_refresh_duration_seconds"
        assert delta(refresh_seconds + "_count", provider="generic") == 2
        assert 0 < delta(refresh_seconds + "_sum", provider="generic") < 60
        requests_total = "security_material_api_requests_total"
        assert delta(requests_total, api="token", code="200") == len(codes)
        api_seconds = "security_material_api_request_duration_seconds"
        assert delta(api_seconds + "_count", api="token") == len(codes)
        assert delta(api_seconds + "_bucket", api="token", le="+Inf") == len(codes)
        code = "oauth2-authorization-code"
        assert (
            value(
                after, "security_material_artifacts", runtime="cloud", type=code, status="deployed"
            )
            == 1
        )
        assert (
            value(after, "security_material_artifacts", runtime="cloud", type=code, status="error")
            == 1
        )
        assert (
            value(after, "security_material_artifacts_needing_person", runtime="cloud", type=code)
            == 1
        )
        assert value(after, "security_material_ready", check="broker") == 1
        assert value(after, "security_material_tasks_queued") == 0


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """Debian's Prometheus on loopback, scraping the app every second and evaluating the
    shipped rules every second (each rule's `for:` cut to 0 s: the expressions as shipped)."""
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "token").write_text(METRICS_TOKEN)
    target = stack.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "security-material",
                "authorization": {"credentials_file": str(tmp_path / "token")},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = start(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        dict(os.environ),
    )
    try:
        read_until(process, r"Server is ready to receive web requests", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def alerts(prometheus: str) -> dict[str, dict[str, Any]]:
    answer = requests.get(f"{prometheus}/api/v1/alerts", timeout=10).json()
    return {alert["labels"]["alertname"]: alert for alert in answer["data"]["alerts"]}


def test_a_real_prometheus_fires_the_alert_when_a_refresh_fails(
    stack: Stack, prometheus: str, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    deadline = time.monotonic() + 30
    while not requests.get(
        f"{prometheus}/api/v1/query",
        params={"query": 'up{job="security-material"} == 1'},
        timeout=10,
    ).json()["data"]["result"]:
        assert time.monotonic() < deadline, "Prometheus never scraped the app"
        time.sleep(0.2)
    time.sleep(2)  # two evaluations of the rules with the app scraped
    assert "SecurityMaterialArtifactsNeedPerson" not in alerts(prometheus)

    bad = due(oauth_server, make_artifact, "prometheus-bad", "RT-the-server-never-issued")
    assert settled(bad).needs_person
    deadline = time.monotonic() + 30
    while (fired := alerts(prometheus).get("SecurityMaterialArtifactsNeedPerson")) is None or (
        fired["state"] != "firing"
    ):
        assert time.monotonic() < deadline, alerts(prometheus)
        time.sleep(0.2)
    assert fired["labels"]["runtime"] == "cloud"
    assert fired["labels"]["severity"] == "warning"
    assert fired["annotations"]["summary"] == (
        "1 oauth2-authorization-code artifact(s) in cloud need a person"
    )
    assert "Authorize" in fired["annotations"]["description"]
    assert "SecurityMaterialNotReady" not in alerts(prometheus)
    assert "SecurityMaterialDown" not in alerts(prometheus)
