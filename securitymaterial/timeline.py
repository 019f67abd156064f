"""The token-health timeline of an OAuth2 Authorization Code artifact's detail page: its
last 90 days as a chart drawn on the server (an SVG in the page: no JavaScript, nothing
inline for CSP to refuse) and the same facts as a table for screen readers.

Bars: refreshes per UTC day, done and failed (OAuth2AuthorizationCode.refresh_days).
Marks: authorizations, edits and failures that need a person (the audit trail). At the
right edge, the horizon: when the refresh token expires if nothing uses it. Plain
arithmetic places each element; no drawing library is needed for bars and marks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode

DAYS = OAuth2AuthorizationCode.HISTORY_DAYS
WIDTH, HEIGHT = 720, 148
LEFT, RIGHT = 44, 700  # the plot's x range
TOP, BASE = 12, 104  # the bars' y range
MARKS_Y = 122
SLOT = (RIGHT - LEFT) / DAYS

Action = AuditEntry.Action
# What the marks show, and the words for each.
MARKED = {
    Action.CREATED: ("changed", "Added"),
    Action.UPDATED: ("changed", "Edited"),
    Action.AUTHORIZED: ("authorized", "Authorized"),
    Action.AUTHORIZATION_FAILED: ("failed", "Authorization failed"),
    Action.REFRESH_FAILED: ("failed", "Refresh failed; needs a person"),
}


@dataclass
class Day:
    day: date
    done: int
    failed: int
    why: str
    x: float = 0
    done_y: float = BASE
    failed_y: float = BASE

    @property
    def width(self) -> float:
        return max(SLOT - 1, 1)

    @property
    def done_height(self) -> float:
        return BASE - self.done_y

    @property
    def failed_height(self) -> float:
        return self.done_y - self.failed_y


@dataclass
class Mark:
    at: datetime
    kind: str  # authorized, changed, failed: the mark's class
    text: str
    by: str
    detail: str
    x: float = 0

    @property
    def points(self) -> str:
        """A small triangle pointing up at the day."""
        x, y = self.x, MARKS_Y
        return f"{x:.1f},{y - 7} {x - 6:.1f},{y + 4} {x + 6:.1f},{y + 4}"


@dataclass
class Timeline:
    start: date
    end: date
    days: list[Day]  # the days with refreshes
    marks: list[Mark]
    busiest: int
    horizon: datetime | None
    horizon_x: float | None  # inside the window only when it has passed
    ticks: list[tuple[float, str]] = field(default_factory=list)
    text: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    base: int = BASE
    top: int = TOP
    marks_y: int = MARKS_Y

    @property
    def done(self) -> int:
        return sum(day.done for day in self.days)

    @property
    def failed(self) -> int:
        return sum(day.failed for day in self.days)

    @property
    def last_failure(self) -> Day | None:
        return next((day for day in reversed(self.days) if day.failed), None)

    def summary(self, now: datetime) -> str:
        """The chart in words (its text alternative)."""
        if not self.days and not self.marks:
            text = f"No refresh and no authorization in the last {DAYS} days."
        else:
            text = f"In the last {DAYS} days: {_refreshes(self.done)} done, {self.failed:,} failed"
            last = self.last_failure
            text += f" (the last on {last.day:%b %-d}: {last.why.rstrip('.')})." if last else "."
            authorized = sum(1 for mark in self.marks if mark.kind == "authorized")
            if authorized:
                text += f" Authorized {authorized} time{'s' if authorized != 1 else ''}."
        if self.horizon is not None:
            left = (self.horizon - now).days
            if self.horizon <= now:
                text += f" The refresh token expired on {self.horizon:%b %-d, %Y}."
            else:
                text += (
                    f" The refresh token expires if unused on {self.horizon:%b %-d, %Y} "
                    f"(in {left} day{'s' if left != 1 else ''})."
                )
        return text

    def rows(self) -> list[tuple[str, str]]:
        """The table, newest first: each day with a failure or a mark on its own, the quiet
        stretches between them in one row each."""
        marked: dict[date, list[Mark]] = {}
        for mark in self.marks:
            marked.setdefault(mark.at.astimezone(UTC).date(), []).append(mark)
        rows: list[tuple[str, str]] = []
        quiet: list[Day] = []

        def close_quiet() -> None:
            if quiet:
                done = sum(day.done for day in quiet)
                span = f"{quiet[0].day:%b %-d, %Y}"
                if len(quiet) > 1:
                    span = f"{quiet[0].day:%b %-d} to {quiet[-1].day:%b %-d, %Y}"
                rows.append((span, f"{_refreshes(done)} done, none failed"))
                quiet.clear()

        by_day = {day.day: day for day in self.days}
        for day in sorted(set(by_day) | set(marked)):
            counted = by_day.get(day)
            if counted is not None and not counted.failed and day not in marked:
                if quiet and (day - quiet[-1].day).days > 1:
                    close_quiet()
                quiet.append(counted)
                continue
            close_quiet()
            told = [
                f"{mark.text} by {mark.by}" + (f": {mark.detail}" if mark.detail else "")
                for mark in marked.get(day, [])
            ]
            if counted is not None:
                text = f"{_refreshes(counted.done)} done"
                if counted.failed:
                    text += f", {counted.failed} failed (last: {counted.why})"
                told.insert(0, text)
            rows.append((f"{day:%b %-d, %Y}", "; ".join(told)))
        close_quiet()
        return rows[::-1]


def _refreshes(count: int) -> str:
    return f"{count:,} refresh{'es' if count != 1 else ''}"


def _x(day: date, start: date) -> float:
    return LEFT + (day - start).days * SLOT


def timeline(artifact: OAuth2AuthorizationCode, now: datetime) -> Timeline:
    end = now.astimezone(UTC).date()
    start = end - timedelta(days=DAYS - 1)
    days = sorted(
        (
            Day(date.fromisoformat(day), int(done), int(failed), str(why))
            for day, (done, failed, why) in artifact.refresh_days.items()
            if start.isoformat() <= day <= end.isoformat()
        ),
        key=lambda day: day.day,
    )
    busiest = max((day.done + day.failed for day in days), default=0)
    for day in days:
        day.x = _x(day.day, start) + 0.5
        scale = (BASE - TOP) / busiest
        # At least a sliver for any count: one refresh among hundreds stays visible.
        day.done_y = BASE - (max(day.done * scale, 2) if day.done else 0)
        day.failed_y = day.done_y - (max(day.failed * scale, 2) if day.failed else 0)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    entries = (
        artifact.audit_entries.filter(action__in=list(MARKED), at__gte=since)
        .order_by("at")
        .only("action", "at", "actor_name", "detail")[:200]
    )
    marks = []
    for entry in entries:
        kind, text = MARKED[Action(entry.action)]
        mark = Mark(entry.at, kind, text, entry.actor_name, entry.detail)
        mark.x = _x(entry.at.astimezone(UTC).date(), start) + SLOT / 2
        marks.append(mark)
    horizon = artifact.refresh_token_expires_at
    horizon_x = None
    if horizon is not None and since <= horizon <= now:
        horizon_x = _x(horizon.astimezone(UTC).date(), start) + SLOT / 2
    ticks = [
        (
            _x(start + timedelta(days=offset), start),
            (start + timedelta(days=offset)).strftime("%b %-d"),
        )
        for offset in (0, 30, 60, DAYS - 1)
    ]
    chart = Timeline(start, end, days, marks, busiest, horizon, horizon_x, ticks)
    chart.text = chart.summary(now)
    return chart
