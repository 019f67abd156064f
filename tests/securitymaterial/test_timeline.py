"""The token-health timeline's facts: what a refresh notes per day (90 days kept), and how
the chart and its table are made of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from django.utils import timezone

from oauthflows import refresh
from securitymaterial import timeline as chart
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
TOKEN_URL = "https://auth.example.com/token"


def test_a_refresh_is_noted_on_its_utc_day_and_ninety_days_are_kept(make_artifact: Any) -> None:
    artifact = make_artifact()
    artifact.refresh_days = {"2026-09-06": [5, 0, ""], "2026-09-07": [7, 1, "old"]}
    artifact.note_refresh(NOW)
    artifact.note_refresh(NOW)
    artifact.note_refresh(NOW, "The provider answered 503.")
    assert artifact.refresh_days == {
        "2026-09-07": [7, 1, "old"],  # the 90th day back is kept, the 91st goes
        "2026-12-05": [2, 1, "The provider answered 503."],
    }
    berlin = NOW.astimezone(timezone.get_fixed_timezone(60)).replace(hour=0, minute=30)
    artifact.note_refresh(berlin)  # 23:30 UTC of the day before
    assert artifact.refresh_days["2026-12-04"] == [1, 0, ""]
    assert artifact.HISTORY_DAYS == 90


@responses.activate
def test_the_refresh_service_notes_each_outcome_it_asked_the_provider_for(
    make_artifact: Any,
) -> None:
    artifact = make_artifact(
        status=Status.DEPLOYED, refresh_token="RT-1", refresh_token_renewed_at=timezone.now()
    )
    responses.post(TOKEN_URL, json={"access_token": "AT", "token_type": "Bearer"})
    refresh.refresh_artifact(artifact.pk, force=True)
    refresh.refresh_artifact(artifact.pk)  # not due: nothing asked, nothing noted
    responses.replace(responses.POST, TOKEN_URL, status=503)
    refresh.refresh_artifact(artifact.pk, force=True)
    responses.replace(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    refresh.refresh_artifact(artifact.pk, force=True)
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    ((day, (done, failed, why)),) = stored.refresh_days.items()
    assert day == timezone.now().astimezone(UTC).date().isoformat()
    assert (done, failed) == (1, 2)
    assert why.startswith("re-authorization required: ")


def test_bars_scale_to_the_busiest_day_and_a_single_refresh_stays_visible(
    make_artifact: Any,
) -> None:
    artifact = make_artifact(refresh_days={"2026-12-05": [100, 0, ""], "2026-09-07": [1, 0, ""]})
    drawn = chart.timeline(artifact, NOW)
    busiest, first = drawn.days[1], drawn.days[0]
    assert busiest.done_height == chart.BASE - chart.TOP == 92
    assert first.done_height == 2
    assert first.x == chart.LEFT + 0.5
    assert busiest.x == pytest.approx(chart.LEFT + 89 * (chart.RIGHT - chart.LEFT) / 90 + 0.5)
    assert drawn.busiest == 100


def test_failures_stack_on_the_day_s_done_refreshes(make_artifact: Any) -> None:
    artifact = make_artifact(refresh_days={"2026-12-05": [3, 1, "503"]})
    (day,) = chart.timeline(artifact, NOW).days
    assert day.done_height == pytest.approx(92 * 3 / 4)
    assert day.failed_height == pytest.approx(92 / 4)
    assert day.failed_y == chart.TOP


def test_marks_are_authorizations_edits_and_failures_of_the_window(
    make_artifact: Any, admin_user: Any
) -> None:
    artifact = make_artifact()
    for back, action in (
        (91, AuditEntry.Action.AUTHORIZED),  # before the window
        (89, AuditEntry.Action.AUTHORIZED),
        (40, AuditEntry.Action.TOKEN_ISSUED),  # not a mark
        (40, AuditEntry.Action.SECRET_READ),
        (2, AuditEntry.Action.REFRESH_FAILED),
    ):
        entry = AuditEntry.record(artifact, action, admin_user)
        AuditEntry.objects.filter(pk=entry.pk).update(at=NOW - timedelta(days=back))
    drawn = chart.timeline(artifact, NOW)
    assert [(mark.kind, mark.by) for mark in drawn.marks] == [
        ("authorized", "ada"),
        ("failed", "ada"),
    ]


def test_the_summary_and_the_horizon(make_artifact: Any) -> None:
    artifact = make_artifact(
        refresh_token="RT",
        refresh_token_renewed_at=NOW - timedelta(days=1),
        refresh_token_expiry_days=90,
        refresh_days={"2026-12-04": [1, 0, ""], "2026-12-05": [0, 2, "Down."]},
    )
    drawn = chart.timeline(artifact, NOW)
    assert drawn.text == (
        "In the last 90 days: 1 refresh done, 2 failed (the last on Dec 5: Down). "
        "The refresh token expires if unused on Mar 4, 2027 (in 89 days)."
    )
    assert drawn.horizon_x is None  # ahead: said, not drawn
    artifact.refresh_token_renewed_at = NOW - timedelta(days=100)
    drawn = chart.timeline(artifact, NOW)
    assert drawn.horizon_x == pytest.approx(chart.LEFT + 79.5 * (chart.RIGHT - chart.LEFT) / 90)
    assert drawn.text.endswith("The refresh token expired on Nov 25, 2026.")
    assert chart.timeline(make_artifact(name="Quiet"), NOW).text == (
        "No refresh and no authorization in the last 90 days."
    )


def test_the_table_tells_each_event_and_each_quiet_stretch_once(make_artifact: Any) -> None:
    artifact = make_artifact(
        refresh_days={
            "2026-11-28": [2, 0, ""],  # days without refreshes after it: a stretch of its own
            "2026-12-01": [3, 0, ""],
            "2026-12-02": [4, 0, ""],
            "2026-12-03": [1, 2, "Down"],
            "2026-12-05": [5, 0, ""],
        }
    )
    assert chart.timeline(artifact, NOW).rows() == [
        ("Dec 5, 2026", "5 refreshes done, none failed"),
        ("Dec 3, 2026", "1 refresh done, 2 failed (last: Down)"),
        ("Dec 1 to Dec 2, 2026", "7 refreshes done, none failed"),
        ("Nov 28, 2026", "2 refreshes done, none failed"),
    ]
