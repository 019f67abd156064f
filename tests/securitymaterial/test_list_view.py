"""The Security Material list: columns, filter, sorting, pagination, row actions by permission."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from securitymaterial.models import Status
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
    ],
)
def test_bad_url_parameters_get_a_clear_400(
    admin_client: Client, params: dict[str, Any], message: str
) -> None:
    response = admin_client.get(LIST_URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
