"""The Security Material list's pages, by key: each page starts after (or ends before) the
sort key of a row, never at an OFFSET.

An OFFSET page walks every row before it: the middle of 1,000,000 artifacts read 500,000
index entries. A page by key reads its 25 rows off the sort's index wherever it is, and
stays right while rows are added and deleted between pages: each row is shown once, in
order. The links carry the last (or first) row's key: *Next* `after=…&after_name=…`,
*Previous* `before=…&before_name=…`, *First* none, *Last* `last=1`. Every sort ends with the
name in lower case, which is unique per runtime, so a key names one row. `at` carries the
position of the page's first row, for "26 to 50 of 1,000,000": rows added or deleted before it
meanwhile may make it approximate; the rows themselves are exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import BadRequest
from django.db.models import DateTimeField, F, Func, QuerySet, TextField, Value
from django.db.models.functions import Lower
from django.db.models.lookups import GreaterThan, LessThan
from django.http import QueryDict

from securitymaterial.models import Artifact
from securitymaterial.validators import CONTROL_RE

PAGE_SIZE = 25
# ?sort= values and the column each sorts by before the name (None: the name alone).
# Names sort case-insensitively, the same on every database.
SORTS: dict[str, str | None] = {
    "name": None,
    "type": "kind",
    "status": "status",
    "deployed_by": "deployed_by_name",
    "deployed_on": "deployed_on",
}
CASE_INSENSITIVE = {"deployed_by_name"}
POSITION_RE = re.compile(r"[0-9]{1,9}")
KEY_PARAMS = ("after", "after_name", "before", "before_name", "last", "at")


class Row(Func):
    """Values compared as one SQL row value, (a, b) > (c, d): the order of the sort."""

    template = "(%(expressions)s)"
    output_field = TextField()


@dataclass
class Page:
    rows: list[Artifact]
    total: int
    start: int  # the position of the first row, from 1
    links: dict[str, str | None] = field(default_factory=dict)  # name -> query string or None

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1


def sort_columns(sort: str) -> list[Any]:
    column = SORTS[sort.removeprefix("-")]
    if column is None:
        return [Lower("name")]
    expression = Lower(column) if column in CASE_INSENSITIVE else F(column)
    return [expression, Lower("name")]


def _parsed_key(sort: str, params: QueryDict, which: str) -> list[Any] | None:
    """The key in `which` (after, before) of the query, checked; None if absent."""
    name = params.get(f"{which}_name")
    column = SORTS[sort.removeprefix("-")]
    value = params.get(which) if column is not None else None
    if name is None and value is None:
        return None
    if name is None or (column is not None and value is None):
        needs = f"{which} and {which}_name" if column is not None else f"{which}_name"
        raise BadRequest(f"The link to this page is incomplete: it needs {needs}.")
    if len(name) > 150 or len(value or "") > 150:
        raise BadRequest("The link to this page is not one this list made: a key is too long.")
    values: list[Any] = []
    if column is not None:
        assert value is not None
        if column == "deployed_on":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise BadRequest(f"“{value[:40]}” is not a date and time.") from None
            if moment.tzinfo is None:
                raise BadRequest(f"“{value[:40]}” has no time zone.")
            try:  # in UTC: PostgreSQL takes offsets up to 15:59, Python up to 23:59
                moment = moment.astimezone(UTC)
            except OverflowError:
                raise BadRequest(f"“{value[:40]}” is out of range.") from None
            values.append(Value(moment, output_field=DateTimeField()))
        else:
            values.append(Value(value))
    values.append(Value(name))
    if any(CONTROL_RE.search(str(v.value)) for v in values):
        raise BadRequest("The link to this page cannot contain control characters.")
    return values


def _position(params: QueryDict) -> int:
    value = params.get("at", "1")
    if not POSITION_RE.fullmatch(value) or int(value) < 1:
        raise BadRequest(f"at must be a whole number from 1 to 999999999, not “{value[:40]}”.")
    return int(value)


def page(artifacts: QuerySet[Artifact], sort: str, params: QueryDict, total: int | None) -> Page:
    """The page the query asks for. `total`: the count if known without counting."""
    descending = sort.startswith("-")
    columns = sort_columns(sort)
    forward = [c.desc() if descending else c.asc() for c in columns]
    backward = [c.asc() if descending else c.desc() for c in columns]
    after, before = _parsed_key(sort, params, "after"), _parsed_key(sort, params, "before")
    last = params.get("last") == "1"
    if (after is not None) + (before is not None) + last > 1:
        raise BadRequest("Ask for one page: after, before or last, not several.")
    later, earlier = (LessThan, GreaterThan) if descending else (GreaterThan, LessThan)
    key = Row(*columns)
    start = _position(params)

    def exists(lookup: Any, values: list[Any]) -> bool:
        # In the sort's order, so that it is read off the sort's index: without an order
        # PostgreSQL may scan the table for the first row past the key.
        ordered = forward if lookup is later else backward
        beyond = artifacts.filter(lookup(key, Row(*values))).order_by(*ordered)
        return bool(beyond.values("pk")[:1])

    def keyed(rows: list[Artifact]) -> list[Artifact]:
        for row in rows:
            row.sort_key = [getattr(row, f"sort_key_{n}") for n in range(len(columns))]  # type: ignore[attr-defined]
        return rows

    artifacts_keyed = artifacts.annotate(**{f"sort_key_{n}": c for n, c in enumerate(columns)})

    if before is not None or last:
        rows_query = artifacts_keyed.order_by(*backward)
        if before is not None:
            rows_query = rows_query.filter(earlier(key, Row(*before)))
        rows = keyed(list(rows_query[: PAGE_SIZE + 1]))[::-1]
        more_before = len(rows) > PAGE_SIZE
        rows = rows[-PAGE_SIZE:]
        if not rows:  # nothing before it any more: the first page
            return page(artifacts, sort, QueryDict(), total)
        more_after = not last and exists(later, _values(rows[-1]))
        if last:
            total = total if total is not None else artifacts.count()
            start = max(total - len(rows) + 1, 1)
        else:
            start = max(start - len(rows), 1) if more_before else 1
    else:
        rows_query = artifacts_keyed.order_by(*forward)
        if after is not None:
            rows_query = rows_query.filter(later(key, Row(*after)))
        rows = keyed(list(rows_query[: PAGE_SIZE + 1]))
        more_after = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        if not rows and after is not None:  # nothing after it any more: the last page
            return page(artifacts, sort, QueryDict("last=1"), total)
        more_before = after is not None and exists(earlier, _values(rows[0]))
        if not more_before:
            start = 1
    if total is None:
        total = len(rows) if not more_before and not more_after else artifacts.count()
    start = min(start, max(total - len(rows) + 1, 1))
    result = Page(rows, total, start)
    result.links = {
        "first": "" if more_before else None,
        "previous": _link("before", rows[0], start) if more_before else None,
        "next": _link("after", rows[-1], start + len(rows)) if more_after else None,
        "last": "last=1" if more_after else None,
    }
    return result


def _values(row: Artifact) -> list[Any]:
    """The row's sort key as the database computed it (never lower-cased here: the database
    and Python may disagree on a letter's lower case)."""
    return [Value(value, output_field=_output(value)) for value in row.sort_key]  # type: ignore[attr-defined]


def _output(value: Any) -> Any:
    return DateTimeField() if isinstance(value, datetime) else TextField()


def _link(which: str, row: Artifact, at: int) -> str:
    *value, name = row.sort_key  # type: ignore[attr-defined]
    params = QueryDict(mutable=True)
    if value:
        params[which] = value[0].isoformat() if isinstance(value[0], datetime) else value[0]
    params[f"{which}_name"] = name
    params["at"] = str(max(at, 1))
    return params.urlencode()
