"""LOG_FORMAT=json: each line carries the request's (or Celery task's) id and the artifact it
is about, where known; every answer names its request id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import responses
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from config.logs import JsonFormatter
from monitoring import logcontext
from monitoring.apps import _ended, _task_started
from oauthflows import refresh
from securitymaterial.models import ErrorKind, Status


class Lines:
    """What the root logger wrote, as the JSON objects LOG_FORMAT=json makes."""

    def __init__(self, stream: StringIO) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter([json.loads(line) for line in self.stream.getvalue().splitlines()])


@pytest.fixture
def lines() -> Iterator[Lines]:
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)


def test_an_answer_names_its_request_id(db: None) -> None:
    given = Client().get("/healthz", headers={"X-Request-ID": "lb-7f3a.9_Z"})
    assert given["X-Request-ID"] == "lb-7f3a.9_Z"
    made = Client().get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0


@pytest.mark.parametrize(
    "hostile", ["two words", "x" * 65, "line\\nbreak", "ünïcödé", "a;b", '"quoted"', "{}"]
)
def test_a_request_id_that_is_not_plain_is_replaced(db: None, hostile: str) -> None:
    answered = Client().get("/healthz", headers={"X-Request-ID": hostile})["X-Request-ID"]
    assert answered != hostile and len(answered) == 32


def test_a_line_of_an_api_request_names_the_request_and_the_artifact(
    make_artifact: Any, lines: Lines
) -> None:
    make_artifact(status=Status.ERROR, error_kind=ErrorKind.REAUTHORIZE, refresh_token="RT")
    _, secret = ApiToken.create("mailer")
    answer = Client().get(
        "/api/v1/security-material/generic_app/access-token",
        headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "req-409"},
    )
    assert answer.status_code == 409
    logging.getLogger("outside").warning("after the request")
    conflict = next(line for line in lines if line.get("status") == 409)
    assert conflict["request_id"] == "req-409"
    assert (conflict["runtime"], conflict["artifact"]) == ("cloud", "Generic_App")
    after = next(line for line in lines if line["message"] == "after the request")
    assert "request_id" not in after and "artifact" not in after  # nothing carries over
    assert secret not in lines.stream.getvalue()


@responses.activate
def test_a_refresh_in_a_task_names_the_task_and_the_artifact(
    make_artifact: Any, lines: Lines, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="oauthflows")
    artifact = make_artifact(
        status=Status.DEPLOYED, refresh_token="RT-1", refresh_token_renewed_at=timezone.now()
    )
    responses.post(
        "https://auth.example.com/token",
        json={"access_token": "AT-2", "token_type": "Bearer", "expires_in": 3600},
    )
    _task_started(task_id="task-42")
    try:
        refresh.refresh_artifact(artifact.pk, force=True)
        logging.getLogger("oauthflows").info("between two artifacts")
    finally:
        _ended()
    refreshed = next(line for line in lines if line["message"].startswith("refreshed"))
    assert refreshed["request_id"] == "task-42"
    assert (refreshed["runtime"], refreshed["artifact"]) == ("cloud", "Generic_App")
    between = next(line for line in lines if line["message"] == "between two artifacts")
    assert between["request_id"] == "task-42" and "artifact" not in between
    assert logcontext.request_id() == "" and logcontext.artifact() is None
