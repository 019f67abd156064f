"""The Security Material list: columns, filter, sorting, pagination, row actions by permission."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from securitymaterial.models import Artifact, ArtifactType, Status
from tests.conftest import CLIENT_SECRET

LIST_URL = reverse("securitymaterial:list")


def names_in(response: Any) -> list[str]:
    return [artifact.name for artifact in response.context["page"].rows]


def test_it_shows_the_columns_and_the_status_with_its_hint(
    admin_client: Client, make_artifact: Any
) -> None:
    make_artifact(name="Mailer")
    html = admin_client.get(LIST_URL).content.decode()
    headers = re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", html, re.S)
    texts = [re.sub(r"<[^>]+>|[▲▼]", "", h).strip() for h in headers]
    assert texts[:5] == ["Name", "Type", "Status", "Deployed By", "Deployed On"]
    assert "OAuth2 Authorization Code" in html
    assert "Unauthorized" in html
    assert "Choose Authorize to sign in and consent" in html
    assert ">ada<" in html
    assert CLIENT_SECRET not in html


def test_the_add_menu_and_row_actions_are_there_for_an_admin(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    html = admin_client.get(LIST_URL).content.decode()
    assert ">Add</button>" in html
    assert ">OAuth2 Authorization Code</a>" in html
    assert ">Authorize</button>" in html
    assert reverse("securitymaterial:edit", args=[artifact.pk]) in html
    assert reverse("securitymaterial:delete", args=[artifact.pk]) in html


def test_a_reader_sees_the_list_without_any_control_that_changes_it(
    reader_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    response = reader_client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert artifact.name in html
    for control in (">Add</button>", ">Authorize<", ">Edit<", ">Delete<"):
        assert control not in html


def test_an_outsider_is_refused(outsider_client: Client) -> None:
    assert outsider_client.get(LIST_URL).status_code == 403


def test_it_filters_by_name(admin_client: Client, make_artifact: Any) -> None:
    make_artifact(name="Mail_Sender")
    make_artifact(name="mail.reader")
    make_artifact(name="Dropbox")
    assert names_in(admin_client.get(LIST_URL, {"q": "MAIL"})) == ["mail.reader", "Mail_Sender"]
    response = admin_client.get(LIST_URL, {"q": "nothing"})
    assert "No artifact name contains “nothing”." in response.content.decode()


def test_it_lists_only_the_chosen_runtime(admin_client: Client, make_artifact: Any) -> None:
    make_artifact(name="Cloudy", runtime="cloud")
    make_artifact(name="Edgy", runtime="edge")
    assert names_in(admin_client.get(LIST_URL, {"runtime": "edge"})) == ["Edgy"]
    assert names_in(admin_client.get(LIST_URL)) == ["Cloudy"]


def test_it_sorts_by_each_column_both_ways(admin_client: Client, make_artifact: Any) -> None:
    make_artifact(name="b", status=Status.ERROR)
    make_artifact(name="a", status=Status.UNAUTHORIZED)
    make_artifact(name="c", status=Status.DEPLOYED)
    assert names_in(admin_client.get(LIST_URL, {"sort": "name"})) == ["a", "b", "c"]
    assert names_in(admin_client.get(LIST_URL, {"sort": "-name"})) == ["c", "b", "a"]
    assert names_in(admin_client.get(LIST_URL, {"sort": "status"})) == ["c", "b", "a"]
    assert names_in(admin_client.get(LIST_URL, {"sort": "-deployed_on"})) == ["c", "a", "b"]
    for column in ("type", "deployed_by", "-deployed_by"):
        assert admin_client.get(LIST_URL, {"sort": column}).status_code == 200


def link(response: Any, label: str) -> dict[str, str] | None:
    """The query of the page's link labelled so, as a browser would follow it."""
    match = re.search(
        rf'<a class="page-link" href="\?([^"]*)">{label}</a>', response.content.decode()
    )
    return dict(QueryDict(html.unescape(match.group(1))).items()) if match else None


def shown(first: int, last: int, total: int) -> str:
    return f"{first}\N{EN DASH}{last} of {total}"


def test_it_pages_by_key_with_first_previous_next_and_last(
    admin_client: Client, make_artifact: Any
) -> None:
    for number in range(30):
        make_artifact(name=f"a{number:02}")
    first = admin_client.get(LIST_URL)
    assert names_in(first) == [f"a{n:02}" for n in range(25)]
    assert shown(1, 25, 30) in first.content.decode()
    assert link(first, "Previous") is None and link(first, "First") is None
    following = link(first, "Next")
    assert following == {"after_name": "a24", "at": "26"}
    second = admin_client.get(LIST_URL, following)
    assert names_in(second) == [f"a{n}" for n in range(25, 30)]
    assert shown(26, 30, 30) in second.content.decode()
    assert link(second, "Next") is None and link(second, "Last") is None
    back = admin_client.get(LIST_URL, link(second, "Previous"))
    assert names_in(back) == names_in(first) and shown(1, 25, 30) in back.content.decode()
    last = admin_client.get(LIST_URL, link(first, "Last"))  # the last 25
    assert names_in(last) == [f"a{n:02}" for n in range(5, 30)]
    assert shown(6, 30, 30) in last.content.decode()
    assert names_in(admin_client.get(LIST_URL, link(last, "First"))) == names_in(first)
    # A link keeps the filter and the sort.
    descending = admin_client.get(LIST_URL, {"sort": "-name", "type": "oauth2-authorization-code"})
    assert link(descending, "Next") == {
        "sort": "-name",
        "type": "oauth2-authorization-code",
        "after_name": "a05",
        "at": "26",
    }


SORT_KEYS = {
    "name": lambda a: (a.name.lower(),),
    "type": lambda a: (a.kind, a.name.lower()),
    "status": lambda a: (a.status, a.name.lower()),
    "deployed_by": lambda a: (a.deployed_by_name.lower(), a.name.lower()),
    "deployed_on": lambda a: (a.deployed_on, a.name.lower()),
}


@pytest.mark.parametrize("sort", [*SORT_KEYS, *(f"-{s}" for s in SORT_KEYS)])
def test_every_row_is_shown_once_while_rows_come_and_go_between_pages(
    admin_client: Client, make_artifact: Any, django_user_model: Any, sort: str
) -> None:
    """Forward by Next and backward by Previous from Last, in every sort: rows deleted
    meanwhile go, rows added ahead come once, and no row that stays is missed or shown
    twice. Ties in the sort column (statuses, deployers, one moment) are broken by name."""
    from django.utils import timezone

    users = [django_user_model.objects.create(username=u) for u in ("Zed", "amy", "Bob")]
    moment = timezone.now()
    statuses = [Status.DEPLOYED, Status.ERROR, Status.UNAUTHORIZED]

    def add(number: int) -> Artifact:
        return make_artifact(
            name=f"{'Ab'[number % 2]}rt_{number:03}",
            status=statuses[number % 3],
            deployed_by=users[number % 3],
            deployed_on=moment.replace(microsecond=0) + timedelta(seconds=number % 4),
        )

    for number in range(0, 120, 2):
        add(number)
    added = iter(range(201, 999, 2))
    key = SORT_KEYS[sort.removeprefix("-")]
    for backward in (False, True):
        stayed = {a.name for a in Artifact.objects.all()}
        seen: list[Artifact] = []
        response = admin_client.get(LIST_URL, {"sort": sort, **({"last": "1"} if backward else {})})
        while True:
            page = list(response.context["page"].rows)
            seen += page[::-1] if backward else page
            # Between pages: one row of this page and one not yet reached go, two come.
            gone = [page[len(page) // 2].name]
            ahead = [a for a in Artifact.objects.all() if a.name not in {s.name for s in seen}]
            if ahead:
                gone.append(ahead[len(ahead) // 2].name)
            Artifact.objects.filter(name__in=gone).delete()
            stayed -= set(gone)
            add(next(added))
            add(next(added))
            following = link(response, "Previous" if backward else "Next")
            if following is None:
                break
            response = admin_client.get(LIST_URL, following)
        names = [a.name for a in seen]
        assert len(names) == len(set(names)), "a row was shown twice"
        assert stayed <= set(names), f"rows that stayed were missed: {stayed - set(names)}"
        keys = [key(a) for a in seen]
        order = sorted(keys, reverse=sort.startswith("-") != backward)
        assert keys == order, "the pages were not in the sort's order"


def test_a_name_filter_that_matches_less_than_a_page_needs_no_count(
    admin_client: Client, make_artifact: Any
) -> None:
    make_artifact(name="Mail_Sender")
    make_artifact(name="Dropbox")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LIST_URL, {"q": "mail"})
    assert names_in(response) == ["Mail_Sender"]
    assert "(1)" in response.content.decode()
    assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)


# A day's offset moves them out of what a date and time can hold (and PostgreSQL's offsets
# end at 15:59): 400, not the database's error.
FIRST_MOMENT, LAST_MOMENT = "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "client_secret"}, "Cannot sort by “client_secret”"),
        ({"at": "abc"}, "at must be a whole number from 1"),
        ({"at": "0"}, "at must be a whole number from 1"),
        ({"at": "²"}, "at must be a whole number from 1"),
        ({"at": "①"}, "at must be a whole number from 1"),
        ({"at": "٣"}, "at must be a whole number from 1"),
        ({"at": ["1", "²"]}, "at must be a whole number from 1"),
        ({"at": "9" * 4301}, "at must be a whole number from 1"),
        ({"at": "1" * 10}, "at must be a whole number from 1"),
        ({"sort": "status", "after_name": "a"}, "incomplete: it needs after and after_name"),
        ({"sort": "status", "before": "deployed"}, "incomplete: it needs before and before_name"),
        ({"after_name": "a", "before_name": "b"}, "Ask for one page"),
        ({"after_name": "a", "last": "1"}, "Ask for one page"),
        ({"sort": "deployed_on", "after": "soon", "after_name": "a"}, "“soon” is not a date"),
        (
            {"sort": "deployed_on", "after": "2026-12-05T10:00:00", "after_name": "a"},
            "no time zone",
        ),
        ({"after_name": "a\x00b"}, "cannot contain control characters"),
        (
            {"sort": "deployed_on", "after": "0001-01-01T00:00:00+23:59", "after_name": "a"},
            "out of range",
        ),
        (
            {"sort": "deployed_on", "after": "9999-12-31T23:59:59-23:59", "after_name": "a"},
            "out of range",
        ),
        ({"after_name": "a" * 151}, "not one this list made"),
        ({"sort": "type", "after": "a" * 151, "after_name": "a"}, "not one this list made"),
        ({"runtime": "moon"}, "Unknown runtime “moon”"),
        ({"q": "a\x00b"}, "The name filter cannot contain control characters."),
    ],
)
def test_bad_url_parameters_get_a_clear_400(
    admin_client: Client, params: dict[str, Any], message: str
) -> None:
    response = admin_client.get(LIST_URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()


POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's indexes (CI runs it)"
)


def plans_of(queries: list[str]) -> list[str]:
    """EXPLAIN with sequential scans and sorts off: on a test's few rows either can be the
    cheaper plan, and what matters is that an index can serve the query in its order."""
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        for sql in queries:
            cursor.execute("EXPLAIN " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_sort")
        cursor.execute("RESET enable_seqscan")
    return plans


@POSTGRESQL_ONLY
@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"sort": "status"}, "artifact_list_by_status"),
        ({"sort": "type"}, "artifact_list_by_kind"),
        ({"sort": "deployed_on"}, "artifact_list_by_deployed_on"),
        ({"sort": "-deployed_by"}, "artifact_list_by_deployed_by"),
        ({"sort": "status", "after": "deployed", "after_name": "m"}, "artifact_list_by_status"),
        ({"sort": "-type", "before": "x", "before_name": "m"}, "artifact_list_by_kind"),
        ({"after_name": "m"}, "artifact_list_by_name_covering|unique_name_per_runtime_any_case"),
    ],
)
def test_every_sort_of_the_list_is_read_off_an_index_on_postgresql(
    admin_client: Client, make_artifact: Any, params: dict[str, str], index: str
) -> None:
    """Without these a page at 100,000 artifacts sorts every row (bench/list_page)."""
    make_artifact(name="Mail_Sender")
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(LIST_URL, params).status_code == 200
    plans = plans_of([q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]])
    assert any(re.search(index, plan) for plan in plans), plans


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_far_pages_and_the_name_filter_have_their_indexes_on_postgresql() -> None:
    """Migration 0005: a page far in is read off a covering index of the name order alone
    (index-only, once the table is vacuumed), and the name filter's substring match
    (Django's icontains: UPPER(name) LIKE UPPER(…)) off trigrams."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes")
        indexes = dict(cursor.fetchall())
    covering = indexes["artifact_list_by_name_covering"]
    assert "(runtime, lower((name)::text)) INCLUDE (id, name)" in covering
    assert "gin (upper((name)::text) gin_trgm_ops)" in indexes["artifact_name_trigrams"]
    Artifact.objects.bulk_create(
        Artifact(name=f"Other_{number:04}", kind=ArtifactType.SECURE_PARAMETER)
        for number in range(2000)
    )
    matching = Artifact.objects.filter(name__icontains="er_1234").values("pk")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE securitymaterial_artifact")
        cursor.execute("SET enable_seqscan = off")
        plan = matching.explain()
        cursor.execute("RESET enable_seqscan")
    assert "artifact_name_trigrams" in plan
