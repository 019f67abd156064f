"""The refresh service against a faked token endpoint: policy, rotation and every fault."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
import requests
import responses
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from responses import matchers

from oauthflows import client, refresh, tasks
from oauthflows.models import RefreshDispatch
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET, raw_secrets
from tests.support.http_servers import HoldingTokenEndpoint

TOKEN_URL = "https://auth.example.com/token"
ROTATED = {
    "access_token": "AT-new",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "RT-new",
}


def reload(artifact: OAuth2AuthorizationCode) -> OAuth2AuthorizationCode:
    return OAuth2AuthorizationCode.objects.get(pk=artifact.pk)


# The policy


def test_the_refresh_token_is_renewed_at_half_its_expiry(make_artifact: Any) -> None:
    renewed = timezone.now()
    artifact = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=renewed,
    )
    assert artifact.compute_next_refresh(renewed) == renewed + timedelta(days=45)


def test_short_expiries_are_renewed_no_later_than_two_days_before(make_artifact: Any) -> None:
    renewed = timezone.now()
    artifact = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=3,
        refresh_token_renewed_at=renewed,
    )
    assert artifact.compute_next_refresh(renewed) == renewed + timedelta(days=1)


def test_refresh_tokens_that_never_expire_need_no_renewal(make_artifact: Any) -> None:
    now = timezone.now()
    artifact = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=None,
        refresh_token_renewed_at=now,
        access_token_expires_at=now + timedelta(hours=1),
    )
    assert artifact.compute_next_refresh(now) is None


def test_an_artifact_in_use_is_refreshed_before_its_access_token_expires(
    make_artifact: Any,
) -> None:
    now = timezone.now()
    artifact = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=now,
        access_token_expires_at=now + timedelta(hours=1),
        last_used_at=now,
    )
    assert artifact.compute_next_refresh(now) == now + timedelta(minutes=55)


def test_unauthorized_artifacts_are_never_scheduled(make_artifact: Any) -> None:
    assert make_artifact().compute_next_refresh(timezone.now()) is None


# Success


@responses.activate
def test_a_due_artifact_is_refreshed_and_the_rotated_token_kept(
    authorized: OAuth2AuthorizationCode,
) -> None:
    responses.post(
        TOKEN_URL,
        json=ROTATED,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "RT-old",
                    "client_id": "client-1",
                    "client_secret": CLIENT_SECRET,
                }
            )
        ],
    )
    secret_before = raw_secrets(authorized.name)
    with CaptureQueriesContext(connection) as queries:
        outcome = refresh.refresh_artifact(authorized.pk)
    assert outcome.action == "refreshed"
    # A healthy artifact stays Deployed: its status is not rewritten (SQLite's lock() is an
    # UPDATE of the catalogue row that sets nothing else).
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert not [sql for sql in updates if '"status_reason"' in sql], updates
    stored = reload(authorized)
    assert (stored.access_token, stored.refresh_token) == ("AT-new", "RT-new")
    assert stored.status == Status.DEPLOYED
    assert stored.next_refresh_at is not None
    assert stored.next_refresh_at - timezone.now() > timedelta(days=44)
    assert stored.last_attempt_result == "Refreshed"
    # Only what a refresh changes is written: the client secret is not re-encrypted.
    assert raw_secrets(authorized.name) == secret_before


def test_a_refresh_of_a_deleted_artifact_is_skipped(db: None) -> None:
    assert refresh.refresh_artifact(999_999).detail == "deleted"


@responses.activate
def test_without_a_new_refresh_token_the_old_one_stays(
    authorized: OAuth2AuthorizationCode,
) -> None:
    responses.post(TOKEN_URL, json={"access_token": "AT-new", "token_type": "Bearer"})
    refresh.refresh_artifact(authorized.pk)
    stored = reload(authorized)
    assert (stored.access_token, stored.refresh_token) == ("AT-new", "RT-old")


@responses.activate
def test_an_artifact_that_is_not_due_is_left_alone_unless_forced(
    make_artifact: Any,
) -> None:
    artifact = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT-old",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=timezone.now(),
    )
    assert refresh.refresh_artifact(artifact.pk).action == "skipped"
    assert len(responses.calls) == 0
    responses.post(TOKEN_URL, json=ROTATED)
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"
    assert reload(artifact).refresh_token == "RT-new"


# Transient faults: Error "retrying", tokens kept, backoff


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"body": requests.ConnectionError()}, "could not be reached"),
        ({"body": requests.ReadTimeout()}, "did not answer in time"),
        ({"status": 503, "body": "busy"}, "unavailable (HTTP 503)"),
        ({"status": 429, "json": {"error": "too_many_requests"}}, "too_many_requests"),
        ({"status": 400, "json": {"error": "temporarily_unavailable"}}, "temporarily unavailable"),
    ],
)
@responses.activate
def test_transient_faults_keep_the_tokens_and_retry_later(
    authorized: OAuth2AuthorizationCode, reply: dict[str, Any], message: str
) -> None:
    responses.post(TOKEN_URL, **reply)
    now = timezone.now()
    outcome = refresh.refresh_artifact(authorized.pk)
    assert outcome.action == "retrying"
    stored = reload(authorized)
    assert stored.status == Status.ERROR
    assert stored.error_kind == "transient"
    assert not stored.needs_person
    assert (stored.access_token, stored.refresh_token) == ("AT-old", "RT-old")
    assert message in stored.last_attempt_result
    assert stored.status_hint.startswith("Retrying: ")
    assert "Next attempt at" in stored.status_hint
    assert stored.retry_at is not None
    # first retry: between half and all of the base delay (60 s), with jitter
    assert timedelta(seconds=29) < stored.retry_at - now < timedelta(seconds=61)
    assert stored.next_refresh_at == stored.retry_at


def test_a_token_endpoint_slower_than_the_timeout_is_retried_later(
    make_artifact: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "READ_TIMEOUT", 0.5)
    with HoldingTokenEndpoint() as endpoint:  # a real socket that never answers
        artifact = make_artifact(
            status=Status.DEPLOYED,
            access_token="AT-old",
            refresh_token="RT-old",
            token_service_url=endpoint.url,
            refresh_token_expiry_days=90,
            refresh_token_renewed_at=timezone.now() - timedelta(days=46),
        )
        outcome = refresh.refresh_artifact(artifact.pk)
    assert outcome.action == "retrying"
    stored = reload(artifact)
    assert stored.last_attempt_result == "The Token Service URL did not answer in time."
    assert (stored.access_token, stored.refresh_token) == ("AT-old", "RT-old")
    assert stored.retry_at is not None


@responses.activate
def test_retry_after_is_honoured(authorized: OAuth2AuthorizationCode) -> None:
    responses.post(TOKEN_URL, status=503, body="busy", headers={"Retry-After": "900"})
    now = timezone.now()
    refresh.refresh_artifact(authorized.pk)
    stored = reload(authorized)
    assert stored.retry_at is not None
    assert stored.retry_at - now >= timedelta(seconds=899)


@responses.activate
def test_backoff_grows_is_capped_and_ends_on_success(
    authorized: OAuth2AuthorizationCode,
) -> None:
    responses.post(TOKEN_URL, status=500, body="down")
    delays = []
    for _ in range(9):
        stored = reload(authorized)
        when = stored.next_refresh_at or timezone.now()
        with time_machine.travel(when, tick=False):
            assert refresh.refresh_artifact(authorized.pk).action == "retrying"
            stored = reload(authorized)
            assert stored.retry_at is not None
            delays.append((stored.retry_at - when).total_seconds())
    assert stored.attempts_since_success == 9
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(3600, 60 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len(responses.calls) == 9
    responses.replace(responses.POST, TOKEN_URL, json=ROTATED)
    with time_machine.travel(stored.retry_at, tick=False):
        assert refresh.refresh_artifact(authorized.pk).action == "refreshed"
    stored = reload(authorized)
    assert (stored.status, stored.error_kind, stored.attempts_since_success) == ("deployed", "", 0)


@responses.activate
def test_a_long_outage_is_mailed_once_and_retrying_goes_on(
    authorized: OAuth2AuthorizationCode,
) -> None:
    responses.post(TOKEN_URL, status=503, body="down")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(40):  # 40 hours of hourly retries
            refresh.refresh_artifact(authorized.pk, force=True)
            traveller.shift(timedelta(hours=1))
    [message] = mail.outbox  # once, at the 24th hour; not again
    assert message.subject == "Security Material: Generic_App has not been refreshed for 24 hours"
    assert "keeps retrying" in message.body
    assert "someone must authorize it again" in message.body
    assert "RT-old" not in message.body
    stored = reload(authorized)
    assert stored.failing_since == start
    assert stored.error_kind == "transient"
    # Recovery clears the outage; a later one is mailed again.
    responses.replace(responses.POST, TOKEN_URL, json=ROTATED)
    refresh.refresh_artifact(authorized.pk, force=True)
    assert reload(authorized).failing_since is None


# Permanent faults: a person must act


def microsoft_error(error: str, code: int) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: something",
        "error_codes": [code],
        "trace_id": "trace-1",
        "correlation_id": "corr-1",
    }


@responses.activate
def test_an_inactivity_expired_refresh_token_requires_reauthorization(
    reader: User, authorized: OAuth2AuthorizationCode
) -> None:
    User.objects.create_superuser("boss", "boss@example.com", "pw")
    OAuth2AuthorizationCode.objects.filter(pk=authorized.pk).update(provider="microsoft365")
    responses.post(TOKEN_URL, status=400, json=microsoft_error("invalid_grant", 700082))
    outcome = refresh.refresh_artifact(authorized.pk)
    assert outcome.action == "needs a person"
    stored = reload(authorized)
    assert stored.status == Status.ERROR
    assert stored.needs_person
    assert stored.status_hint == (
        "Re-authorization required: The refresh token expired because it was not used for "
        "90 days. (AADSTS700082) Choose Authorize to sign in again."
    )
    assert stored.next_refresh_at is None
    assert (stored.access_token, stored.refresh_token) == ("AT-old", "RT-old")
    entry = AuditEntry.objects.get(action="refresh_failed")
    assert "trace ID trace-1" in entry.detail
    [message] = mail.outbox
    # everyone who may authorize it; not the read-only rita
    assert message.to == ["ada@example.com", "boss@example.com"]
    assert "Generic_App needs your attention" in message.subject
    assert "RT-old" not in message.body
    # no further attempts
    assert refresh.refresh_artifact(authorized.pk).action == "skipped"
    assert len(responses.calls) == 1


@responses.activate
def test_an_expired_client_secret_is_a_configuration_error(
    authorized: OAuth2AuthorizationCode,
) -> None:
    OAuth2AuthorizationCode.objects.filter(pk=authorized.pk).update(provider="microsoft365")
    responses.post(TOKEN_URL, status=401, json=microsoft_error("invalid_client", 7000222))
    refresh.refresh_artifact(authorized.pk)
    stored = reload(authorized)
    assert stored.status_hint.startswith(
        "Configuration error: The client secret has expired. Create a new one in Entra ID"
    )
    assert stored.needs_person
    assert stored.refresh_token == "RT-old"


# Dispatch by beat, the task and the command


def test_beat_hands_out_each_due_artifact_once_while_its_task_is_queued(
    authorized: OAuth2AuthorizationCode,
    make_artifact: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_artifact(
        name="fresh",
        status=Status.DEPLOYED,
        refresh_token="RT",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=timezone.now(),
        next_refresh_at=timezone.now() + timedelta(days=45),
    )
    queued: list[tuple[list[int], int]] = []

    def beat() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return refresh.dispatch_due(timezone.now(), lambda ids, n: queued.append((ids, n)))

    assert beat() == 1
    assert queued == [([authorized.pk], 1)]
    # Queued for hours (a backlog): never handed out again, however long it waits, while
    # the workers are busy with earlier rounds.
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        refresh.started(0, timezone.now())  # a worker busy with an older round
        assert beat() == 0
    assert RefreshDispatch.objects.get().handed_out == 1


def test_a_task_lost_from_the_queue_is_handed_out_again_once_a_later_round_starts(
    authorized: OAuth2AuthorizationCode, make_artifact: Any, django_capture_on_commit_callbacks: Any
) -> None:
    queued: list[tuple[list[int], int]] = []

    def beat() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return refresh.dispatch_due(timezone.now(), lambda ids, n: queued.append((ids, n)))

    assert beat() == 1  # round 1: its message is lost
    other = make_artifact(
        name="Other",
        status=Status.DEPLOYED,
        refresh_token="RT",
        next_refresh_at=timezone.now() - timedelta(minutes=1),
    )
    assert beat() == 1 and queued[-1] == ([other.pk], 2)
    assert beat() == 0  # round 1's task may still be queued
    refresh.started(2, timezone.now())  # the queue has moved past round 1
    OAuth2AuthorizationCode.objects.filter(pk=other.pk).update(  # and refreshed it
        next_refresh_at=timezone.now() + timedelta(days=1), dispatched_round=None
    )
    assert beat() == 1 and queued[-1] == ([authorized.pk], 3)


def test_when_no_worker_takes_anything_for_the_lease_beat_hands_out_again(
    authorized: OAuth2AuthorizationCode, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    """Workers down, or a broker that lost its queue: after REFRESH_DISPATCH_LEASE_SECONDS
    (300 by default) without any task started, what waited that long goes out again."""
    assert settings.REFRESH_DISPATCH_LEASE_SECONDS == 300
    queued: list[int] = []

    def beat() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return refresh.dispatch_due(timezone.now(), lambda ids, n: queued.append(n))

    start = timezone.now()
    assert beat() == 1
    with time_machine.travel(start + timedelta(seconds=299)):
        assert beat() == 0
    with time_machine.travel(start + timedelta(seconds=301)):
        refresh.started(0, timezone.now())  # a worker alive meanwhile
        assert beat() == 0
    with time_machine.travel(start + timedelta(seconds=302 + 300)):
        assert beat() == 1  # nobody started anything for 300 s


def test_a_batch_starts_none_it_could_not_finish_and_what_it_leaves_keeps_its_mark(
    authorized: OAuth2AuthorizationCode, make_artifact: Any, settings: Any
) -> None:
    other = make_artifact(name="Other")
    OAuth2AuthorizationCode.objects.update(dispatched_round=7, dispatched_at=timezone.now())
    # Soft limit 115 s; a refresh may need 25 + 60 + 10 s: after 20 s none more starts.
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT == 115
    clock = iter([0.0, 21.0])
    with (
        mock.patch.object(refresh.time, "monotonic", lambda: next(clock)),
        mock.patch.object(refresh, "refresh_artifact", return_value="done") as refreshed,
    ):
        assert refresh.refresh_batch([authorized.pk, other.pk], 7) == ["done"]
    refreshed.assert_called_once_with(authorized.pk)
    assert OAuth2AuthorizationCode.objects.get(pk=other.pk).dispatched_round == 7
    progress = RefreshDispatch.objects.get()
    assert progress.started_round == 7 and progress.started_at is not None


@responses.activate
def test_the_task_calls_the_service(authorized: OAuth2AuthorizationCode) -> None:
    responses.post(TOKEN_URL, json=ROTATED)
    assert tasks.refresh_credential.apply(args=[authorized.pk]).get() == "Generic_App: refreshed"
    responses.post(TOKEN_URL, json=ROTATED)
    result = tasks.refresh_credentials.apply(args=[[authorized.pk], 1]).get()
    assert result == ["Generic_App: skipped (not due)"]


@responses.activate
def test_the_command_says_what_it_did(authorized: OAuth2AuthorizationCode) -> None:
    out = StringIO()
    call_command("refresh_tokens", "--dry-run", stdout=out)
    assert "Generic_App: due" in out.getvalue()
    assert len(responses.calls) == 0
    responses.post(TOKEN_URL, json=ROTATED)
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    assert out.getvalue().strip() == "Generic_App: refreshed"
    out = StringIO()
    call_command("refresh_tokens", "--name", "Generic_App", stdout=out)
    assert "Generic_App: skipped (not due)" in out.getvalue()
    call_command("refresh_tokens", "--name", "Generic_App", "--force", stdout=out)
    assert out.getvalue().strip().endswith("Generic_App: refreshed")


def test_a_task_for_a_deleted_artifact_is_skipped(authorized: OAuth2AuthorizationCode) -> None:
    pk = authorized.pk
    authorized.delete()
    assert (
        str(tasks.refresh_credential.apply(args=[pk]).get()) == f"artifact {pk}: skipped (deleted)"
    )


def test_the_command_refuses_an_unknown_name(db: None) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No artifact is named 'nope'"):
        call_command("refresh_tokens", "--name", "nope")


@responses.activate
def test_a_refresh_or_a_skip_takes_the_dispatch_mark_off(
    authorized: OAuth2AuthorizationCode,
) -> None:
    """Else the artifact, due again in 45 days, would wait for a later round to start."""
    responses.post(TOKEN_URL, json=ROTATED)
    for outcome in ("refreshed", "skipped"):
        OAuth2AuthorizationCode.objects.filter(pk=authorized.pk).update(
            dispatched_round=3, dispatched_at=timezone.now()
        )
        assert refresh.refresh_artifact(authorized.pk).action == outcome  # then: not due
        stored = reload(authorized)
        assert (stored.dispatched_round, stored.dispatched_at) == (None, None)
