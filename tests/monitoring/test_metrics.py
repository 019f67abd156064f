"""/metrics: refused without METRICS_TOKEN; the counters every process adds to, and the
shared state read at each scrape, with their values (not only their names)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses
from celery import current_app
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.models import ApiToken
from monitoring import collector
from oauthflows import refresh
from securitymaterial.models import (
    ErrorKind,
    SecureParameter,
    Status,
    UserCredentials,
)
from tests.conftest import CLIENT_SECRET, PASSWORD, TEST_KEY, fuzz_examples
from tests.support.metrics import Samples, parse, value

TOKEN = "metrics-token-for-the-tests-0123456789"
TOKEN_URL = "https://auth.example.com/token"


@pytest.fixture(autouse=True)
def _metrics_on(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.setattr(collector, "_keys_seen", None)


def scrape() -> Samples:
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    return parse(response.content.decode())


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN.upper()}",
        "Bearer ünïcödé",
    ],
)
def test_metrics_are_refused_without_the_token(db: None, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"security_material" not in response.content


def test_metrics_are_off_while_no_token_is_set(db: None, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
        response = Client().get("/metrics", headers=headers)
        assert response.status_code == 403
        assert b"METRICS_TOKEN" in response.content
        assert b"security_material" not in response.content


def test_metrics_answer_only_get_and_head(db: None) -> None:
    response = Client().post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405


def test_artifacts_by_runtime_type_and_status(make_artifact: Any) -> None:
    make_artifact(name="Unauthorized_1")
    make_artifact(name="Deployed_1", status=Status.DEPLOYED)
    make_artifact(name="Deployed_2", status=Status.DEPLOYED, runtime="edge")
    make_artifact(
        name="Revoked_1", status=Status.ERROR, error_kind=ErrorKind.REAUTHORIZE, refresh_token="RT"
    )
    make_artifact(name="Retrying_1", status=Status.ERROR, error_kind=ErrorKind.TRANSIENT)
    SecureParameter.objects.create(name="Param_1", value="sp-value")
    UserCredentials.objects.create(name="User_1", user="u", password="pw-value")

    samples = scrape()
    code = "oauth2-authorization-code"
    assert {
        (labels["runtime"], labels["type"], labels["status"]): count
        for (name, frozen), count in samples.items()
        if name == "security_material_artifacts" and (labels := dict(frozen))
    } == {
        ("cloud", code, "unauthorized"): 1,
        ("cloud", code, "deployed"): 1,
        ("edge", code, "deployed"): 1,
        ("cloud", code, "error"): 2,
        ("cloud", "secure-parameter", "deployed"): 1,
        ("cloud", "user-credentials", "deployed"): 1,
    }
    person = "security_material_artifacts_needing_person"
    assert value(samples, person, runtime="cloud", type=code) == 1  # the retrying one recovers
    assert value(samples, person, runtime="edge", type=code) == 0


def test_the_refresh_schedule_s_health(make_artifact: Any) -> None:
    now = timezone.now()
    make_artifact(  # its refresh token expires in 10 days if unused
        name="Old_Renewal",
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now - timedelta(days=80),
        next_refresh_at=now - timedelta(minutes=10),  # and it is 10 minutes late
        dispatched_round=3,
        dispatched_at=now - timedelta(minutes=1),
    )
    make_artifact(  # integrations stop in 30 minutes unless someone authorizes
        name="Revoked",
        status=Status.ERROR,
        error_kind=ErrorKind.REAUTHORIZE,
        access_token="AT",
        access_token_expires_at=now + timedelta(minutes=30),
        failing_since=now - timedelta(hours=2),  # needs a person: not "retrying"
    )
    make_artifact(  # sooner, but its refresh will replace it: not counted
        name="Healthy",
        status=Status.DEPLOYED,
        access_token="AT",
        access_token_expires_at=now + timedelta(minutes=10),
        next_refresh_at=now + timedelta(minutes=5),
    )
    make_artifact(  # an expired token that nothing refreshes: already past, not counted
        name="Revoked_Long_Ago",
        status=Status.ERROR,
        error_kind=ErrorKind.REAUTHORIZE,
        access_token="AT",
        access_token_expires_at=now - timedelta(days=3),
    )
    make_artifact(
        name="Retrying",
        status=Status.ERROR,
        error_kind=ErrorKind.TRANSIENT,
        failing_since=now - timedelta(hours=1),
    )
    samples = scrape()
    approx = pytest.approx
    assert value(samples, "security_material_refresh_token_expiry_seconds") == approx(
        10 * 86400, abs=30
    )
    assert value(samples, "security_material_unrefreshed_access_token_expiry_seconds") == approx(
        1800, abs=30
    )
    assert value(samples, "security_material_refresh_lag_seconds") == approx(600, abs=30)
    assert value(samples, "security_material_refreshes_queued") == 1
    assert value(samples, "security_material_refresh_failing_artifacts") == 1
    assert value(samples, "security_material_refresh_failing_seconds") == approx(3600, abs=30)


def test_a_healthy_schedule_reads_zero_lag_and_no_horizon(make_artifact: Any) -> None:
    make_artifact(status=Status.DEPLOYED, next_refresh_at=timezone.now() + timedelta(hours=1))
    samples = scrape()
    assert value(samples, "security_material_refresh_lag_seconds") == 0
    assert value(samples, "security_material_refresh_failing_seconds") == 0
    names = {name for name, _ in samples}
    assert "security_material_refresh_token_expiry_seconds" not in names  # none held
    assert "security_material_unrefreshed_access_token_expiry_seconds" not in names


def test_values_under_a_key_other_than_the_first_are_counted(
    make_artifact: Any, settings: Any
) -> None:
    make_artifact(access_token="AT", refresh_token="RT")  # client secret, access, refresh
    SecureParameter.objects.create(name="Param_1", value="v")
    assert value(scrape(), "security_material_secret_values", key="first") == 4
    collector._keys_seen = None
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode(), TEST_KEY]  # a rotation
    samples = scrape()
    assert value(samples, "security_material_secret_values", key="first") == 0
    assert value(samples, "security_material_secret_values", key="older") == 4
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode()]
    collector._keys_seen = None
    assert value(scrape(), "security_material_secret_values", key="unknown") == 4


def test_the_count_by_key_is_kept_five_minutes(
    make_artifact: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_artifact()
    assert value(scrape(), "security_material_secret_values", key="first") == 1
    SecureParameter.objects.create(name="Param_1", value="v")
    assert value(scrape(), "security_material_secret_values", key="first") == 1  # kept
    assert collector.KEYS_EVERY_SECONDS == 300
    seen_at, counts = collector._keys_seen  # type: ignore[misc]
    monkeypatch.setattr(collector, "_keys_seen", (seen_at - 301, counts))
    assert value(scrape(), "security_material_secret_values", key="first") == 2


def test_readiness_is_a_gauge_per_check(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = scrape()
    for check in ("database", "broker", "keys"):
        assert value(samples, "security_material_ready", check=check) == 1
    monkeypatch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    samples = scrape()
    assert value(samples, "security_material_ready", check="broker") == 0
    assert value(samples, "security_material_ready", check="database") == 1


@responses.activate
def test_refreshes_are_counted_by_outcome_and_timed(make_artifact: Any) -> None:
    artifact = make_artifact(
        status=Status.DEPLOYED, refresh_token="RT-1", refresh_token_renewed_at=timezone.now()
    )
    before = scrape()
    responses.post(
        TOKEN_URL,
        json={"access_token": "AT-2", "token_type": "Bearer", "expires_in": 3600},
    )
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"
    assert refresh.refresh_artifact(artifact.pk).action == "skipped"  # not due: not counted
    responses.replace(responses.POST, TOKEN_URL, status=503)
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "retrying"
    responses.replace(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "needs a person"
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "security_material_refreshes_total"
    for outcome in ("refreshed", "retrying", "needs_person"):
        assert delta(total, provider="generic", outcome=outcome) == 1
    histogram = "security_material_refresh_duration_seconds"
    assert delta(histogram + "_count", provider="generic") == 3
    assert delta(histogram + "_sum", provider="generic") > 0
    assert delta(histogram + "_bucket", provider="generic", le="60.0") == 3
    assert delta(histogram + "_bucket", provider="generic", le="+Inf") == 3


def test_api_requests_are_counted_by_api_and_status_and_timed(
    make_artifact: Any, settings: Any
) -> None:
    now = timezone.now()
    make_artifact(
        status=Status.DEPLOYED,
        access_token="AT-live",
        refresh_token="RT",
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token_renewed_at=now,
    )
    SecureParameter.objects.create(name="Param_1", value="sp-Plain-Metrics")
    _, secret = ApiToken.create("mailer")
    bearer = {"Authorization": f"Bearer {secret}"}
    client = Client()
    before = scrape()
    base = "/api/v1/security-material/"
    assert client.get(base + "Generic_App/access-token", headers=bearer).status_code == 200
    assert client.get(base + "Generic_App/access-token", headers=bearer).status_code == 200
    assert client.get(base + "Generic_App/access-token").status_code == 401
    assert client.get(base + "Nothing/access-token", headers=bearer).status_code == 404
    assert client.get(base + "Param_1", headers=bearer).status_code == 200
    assert client.get(base + "Param_1?runtime=moon", headers=bearer).status_code == 400
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests_total = "security_material_api_requests_total"
    assert delta(requests_total, api="token", code="200") == 2
    assert delta(requests_total, api="token", code="401") == 1
    assert delta(requests_total, api="token", code="404") == 1
    assert delta(requests_total, api="secret", code="200") == 1
    assert delta(requests_total, api="secret", code="400") == 1
    seconds = "security_material_api_request_duration_seconds"
    assert delta(seconds + "_count", api="token") == 4
    assert delta(seconds + "_count", api="secret") == 2
    assert delta(seconds + "_bucket", api="token", le="30.0") == 4


def test_failed_sign_ins_and_lockouts_are_counted(admin_user: User, settings: Any) -> None:
    before = scrape()
    client = Client()
    for _ in range(5):  # LOGIN_FAILURE_LIMIT: the fifth locks the name at this address
        client.post("/accounts/login/", {"username": admin_user.username, "password": "wrong"})
    client.post("/accounts/login/", {"username": admin_user.username, "password": PASSWORD})
    after = scrape()
    failures = "security_material_sign_in_failures_total"
    lockouts = "security_material_sign_in_lockouts_total"
    # Five wrong passwords and the right one refused while locked; the fifth locked the
    # name and the sixth met the lock.
    assert value(after, failures) - value(before, failures) == 6
    assert value(after, lockouts) - value(before, lockouts) == 2


def test_no_secret_and_no_artifact_name_is_in_the_metrics(make_artifact: Any) -> None:
    make_artifact(
        name="Named_Marker_App",
        status=Status.ERROR,
        error_kind=ErrorKind.REAUTHORIZE,
        access_token="AT-Plain-Marker",
        refresh_token="RT-Plain-Marker",
        access_token_expires_at=timezone.now() + timedelta(hours=1),
    )
    SecureParameter.objects.create(name="Param_Marker", value="sp-Plain-Marker")
    _, secret = ApiToken.create("Marker token")
    text = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content
    for marker in ("Plain-Marker", CLIENT_SECRET, secret, "Named_Marker", "Param_Marker", TOKEN):
        assert marker.encode() not in text


def test_values_stored_before_key_ids_count_as_older(db: None) -> None:
    """rotate_keys rewrites them under the first key's id (securitymaterial.crypto)."""
    from django.db import connection

    parameter = SecureParameter.objects.create(name="Param_1", value="v")
    legacy = Fernet(TEST_KEY).encrypt(b"v").decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE securitymaterial_secureparameter SET value = %s WHERE artifact_ptr_id = %s",
            [legacy, parameter.pk],
        )
    samples = scrape()
    assert value(samples, "security_material_secret_values", key="older") == 1
    assert value(samples, "security_material_secret_values", key="first") == 0


@hypothesis_settings(
    max_examples=fuzz_examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(header=st.text(max_size=300))
def test_any_authorization_header_is_refused_plainly(db: None, header: str) -> None:
    """Never a 500, never a metric, whatever the header holds (non-Latin-1 included)."""
    try:
        response = Client().get("/metrics", headers={"Authorization": header})
    except UnicodeEncodeError:
        return  # not a header a client can send
    if header.strip() == f"Bearer {TOKEN}":
        return
    assert response.status_code == 401
    assert b"security_material" not in response.content
