from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import reverse


def start(client: Client, artifact: Any) -> dict[str, str]:
    """Choose Authorize; return the authorization request's query parameters."""
    response = client.post(reverse("securitymaterial:authorize", args=[artifact.pk]))
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    return {key: values[0] for key, values in query.items()}
