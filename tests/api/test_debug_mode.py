"""With DJANGO_DEBUG on, the API still logs no header value and answers an unexpected error
with JSON, not a traceback that bypasses the secret filter."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from api.models import ApiToken
from oauthflows import access

URL = "/api/v1/security-material/Generic_App/access-token"


@pytest.mark.parametrize(
    "header",
    ["{token}", "Basic dXNlcjpwLXcwcmQtUGxhaW4=", "Token {token}", "bearer{token}"],
)
def test_an_authorization_header_without_the_bearer_scheme_is_logged_nowhere(
    db: None, settings: Any, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    _, secret = ApiToken.create("bare")
    value = header.format(token=secret)
    response = Client().get(URL, HTTP_AUTHORIZATION=value)
    assert response.status_code == 401
    assert secret not in caplog.text and "dXNlcjpwLXcwcmQtUGxhaW4=" not in caplog.text


def test_an_unexpected_error_is_json_without_a_traceback_in_debug_mode(
    make_artifact: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.DEBUG = True
    make_artifact()
    _, secret = ApiToken.create("consumer")

    def fail(artifact: Any, **kwargs: Any) -> None:
        refresh_token = "RT-in-a-frame-Plain"  # noqa: F841 - what a traceback would show
        raise RuntimeError("unexpected")

    monkeypatch.setattr(access, "issue", fail)
    response = Client(raise_request_exception=False).get(URL, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error. It was logged; try again later."}
    assert "Traceback" not in response.content.decode()
    assert "RT-in-a-frame-Plain" not in response.content.decode()
    assert "Internal Server Error: /api/v1/" in caplog.text
