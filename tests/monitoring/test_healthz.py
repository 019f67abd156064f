from __future__ import annotations

from django.test import Client


def test_the_health_check_needs_no_login_and_says_ok(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
