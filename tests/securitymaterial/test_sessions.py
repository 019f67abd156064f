"""A copy of the database opens no session: django_session holds hashes of the keys, never
the keys (the cookies); signing out still ends the session on the server."""

from __future__ import annotations

from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, raw_rows

TOKENS_PAGE = "/monitor/integrations/api-tokens/"


def signed_in_administrator(db: None) -> tuple[Client, str]:
    user = User.objects.create_user("root2", "r@example.com", PASSWORD)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="api"))
    client = Client()
    response = client.post(reverse("login"), {"username": "root2", "password": PASSWORD})
    assert response.status_code == 302
    return client, client.cookies["sessionid"].value


def test_the_session_table_holds_no_cookie_and_a_copied_row_opens_nothing(db: None) -> None:
    client, cookie = signed_in_administrator(db)
    assert client.get(TOKENS_PAGE).status_code == 200
    rows = raw_rows("django_session")
    assert rows and not any(cookie in str(row) for row in rows)
    for stored_key, *_ in rows:  # what a pg_dump of the table holds, used as a cookie
        thief = Client()
        thief.cookies["sessionid"] = stored_key
        answer = thief.get(TOKENS_PAGE)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_signing_out_deletes_the_session_on_the_server(db: None) -> None:
    client, cookie = signed_in_administrator(db)
    assert Session.objects.count() == 1
    client.post(reverse("logout"))
    assert Session.objects.count() == 0
    replay = Client()
    replay.cookies["sessionid"] = cookie  # the old cookie, kept by an attacker
    assert replay.get(TOKENS_PAGE).status_code == 302
