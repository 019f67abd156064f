"""schemathesis over the API's own OpenAPI description: every operation, with data that
follows the description and data that breaks it, through the whole WSGI stack. No answer
is a 5xx, and every answer (its status, content type, headers and body) is one the
description documents.

Left out: schemathesis's checks that schema-valid data is accepted and schema-violating
data refused. The forms' rules (a name's characters, a URL that must be https, a tenant
for Microsoft 365) say more than the JSON Schema does, so valid-looking data is refused
with a documented 400; and unknown query parameters and headers are ignored, as most
HTTP APIs do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api.models import ApiToken
from config.wsgi import application
from tests.conftest import fuzz_examples

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction() -> Iterator[None]:
    """As Django's test client does: the WSGI handler would close the connection that
    holds the test's transaction after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db: None) -> dict[str, str]:
    _, secret = ApiToken.create("fuzz", can_manage=True)
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(
    max_examples=fuzz_examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_no_operation_answers_a_5xx_or_anything_undocumented(
    case: Any, bearer: dict[str, str]
) -> None:
    case.call_and_validate(
        headers=bearer, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
