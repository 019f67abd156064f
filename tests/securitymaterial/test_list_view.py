"""The Security Material list: columns, filter, sorting, pagination, row actions by permission."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from securitymaterial.models import Artifact, ArtifactType, Status
from tests.conftest import CLIENT_SECRET

LIST_URL = reverse("securitymaterial:list")


def names_in(response: Any) -> list[str]:
    return [artifact.name for artifact in response.context["page"].object_list]


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


def test_it_paginates(admin_client: Client, make_artifact: Any) -> None:
    for number in range(30):
        make_artifact(name=f"a{number:02}")
    first = admin_client.get(LIST_URL)
    assert len(names_in(first)) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = admin_client.get(LIST_URL, {"page": "2"})
    assert names_in(second) == [f"a{n}" for n in range(25, 30)]


def test_pages_keep_the_order_of_any_sort_and_filter(
    admin_client: Client, make_artifact: Any
) -> None:
    """A page's ids are read first and its rows after: both must follow the same order."""
    statuses = [Status.DEPLOYED, Status.ERROR, Status.UNAUTHORIZED]
    for number in range(31):
        make_artifact(name=f"n{number:02}", status=statuses[number % 3])
    make_artifact(name="other")
    wanted = [name for _, name in sorted((statuses[n % 3].value, f"n{n:02}") for n in range(31))]
    for page, rows in (("1", wanted[:25]), ("2", wanted[25:])):
        response = admin_client.get(LIST_URL, {"sort": "status", "q": "n", "page": page})
        assert names_in(response) == rows
        assert "Page " + page + " of 2" in response.content.decode()


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


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "client_secret"}, "Cannot sort by “client_secret”"),
        ({"page": "abc"}, "Page must be a whole number from 1"),
        ({"page": "0"}, "Page must be a whole number from 1"),
        ({"page": "²"}, "Page must be a whole number from 1"),
        ({"page": "①"}, "Page must be a whole number from 1"),
        ({"page": "₁"}, "Page must be a whole number from 1"),
        ({"page": "٣"}, "Page must be a whole number from 1"),
        ({"page": ["1", "²"]}, "Page must be a whole number from 1"),
        ({"page": "9" * 4301}, "Page must be a whole number from 1"),
        ({"page": "1" * 10}, "Page must be a whole number from 1"),
        ({"page": "9"}, "There is no page 9"),
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
    assert any(index in plan for plan in plans), plans


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
