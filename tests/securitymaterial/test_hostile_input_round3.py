"""Hostile input, third round (issue 17), on the site: each cause of a 500 found then, kept
as a regression case, answered with a clear 4xx that changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import database_snapshot


@pytest.mark.parametrize("username", ["u" * 256, "u" * 10_000, "ada\x00", "ada\nx"])
def test_a_sign_in_with_a_user_name_no_account_can_have_is_refused_plainly(
    db: None, username: str
) -> None:
    before = database_snapshot()
    response = Client().post(reverse("login"), {"username": username, "password": "x"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert database_snapshot() == before
