"""The API's URLs and its pages (API Tokens, the rendered description). The operations
answer for themselves (401 without an API token), so the login-required middleware, which
would redirect to the sign-in page, leaves them alone. The pages need a signed-in user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from api import answers, views
from api.operations import api
from monitoring import instruments


def _exempt(patterns: list[Any]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _exempt(pattern.url_patterns)
        else:  # the API and its openapi.json answer for themselves
            view = pattern.callback
            if pattern.name == "openapi-json":  # ninja's view takes any method
                view = require_safe(view)
            if pattern.name == "access_token":  # counted with the answers kept in memory
                view = instruments.measured("token", answers.cached(view))
            if pattern.name == "secret":
                view = instruments.measured("secret", view)
            pattern.callback = login_not_required(_no_store(view))
    return patterns


def _no_store(view: Any) -> Any:
    """Access tokens must not be cached anywhere: Cache-Control: no-store on every answer.
    And no CSRF check."""

    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    wrapped.__name__ = getattr(view, "__name__", "api_view")
    # Only a bearer API token opens the API (never a session cookie), so no request can be
    # forged across sites: without this, POST /api/v1/openapi.json got the CSRF page.
    wrapped.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapped


app_name = "api"  # the namespace ninja's own URL names live in (NinjaAPI.urls_namespace)
operations, _, _ = api.urls
urlpatterns = [
    path("api/v1/docs", views.description, name="docs"),
    path("api/v1/", include(_exempt(list(operations)))),
    path("monitor/integrations/api-tokens/", views.tokens, name="tokens"),
    path("monitor/integrations/api-tokens/<int:pk>/revoke/", views.revoke, name="token-revoke"),
]
