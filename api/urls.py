"""The API's URLs. Its views answer for themselves (401 without an API token), so the
login-required middleware, which would redirect to the sign-in page, leaves them alone.
The rendered description (api.pages.description) is a page: it needs a signed-in user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver
from django.utils.cache import add_never_cache_headers

from api.views import api


def _exempt(patterns: list[Any]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _exempt(pattern.url_patterns)
        else:  # the API and its openapi.json answer for themselves
            pattern.callback = login_not_required(_no_store(pattern.callback))
    return patterns


def _no_store(view: Any) -> Any:
    """Access tokens must not be cached anywhere: Cache-Control: no-store on every answer."""

    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    wrapped.__name__ = getattr(view, "__name__", "api_view")
    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapped


patterns, app_name, namespace = api.urls
urlpatterns = _exempt(list(patterns))
