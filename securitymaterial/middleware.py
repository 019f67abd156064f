"""Answers for failures a person can act on, instead of a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from securitymaterial import crypto

logger = logging.getLogger(__name__)


class UnreadableSecretMiddleware:
    """A page that meets a secret no configured key decrypts (a key removed too early)
    says so, with a 503, and what to do. The API answers the same in its own handler."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, crypto.DecryptionError):
            return None
        logger.warning("%s %s: %s", request.method, request.path, crypto.UNREADABLE)
        return render(request, "503.html", {"message": crypto.UNREADABLE}, status=503)


class AdminInputMiddleware:
    """The Django admin passes list filters and the ids of a bulk action to the database as
    they come: a NUL in a filter or "abc" as an id was a 500 (PostgreSQL refuses a NUL in a
    string; an id must be a number). Such a request gets a 400 that says what was wrong."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/admin/"):
            problem = self._problem(request)
            if problem:
                return render(request, "400.html", {"message": problem}, status=400)
        return self.get_response(request)

    @staticmethod
    def _problem(request: HttpRequest) -> str:
        for data in (request.GET, request.POST):
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return "Remove the NUL character from the filter or the form."
        if any(
            not pk.isascii() or not pk.isdigit() for pk in request.POST.getlist("_selected_action")
        ):
            return "Choose the rows from the list: the id of a row is a number."
        return ""


class MethodNotAllowedPage:
    """Django answers a method a view does not take with an empty 405: a person who lands
    there (a bookmarked sign-out, a reloaded Authorize) gets a page that says what to do.
    The API answers JSON for itself (api.middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith("/api/"):
            return response
        page = render(request, "405.html", {"allowed": response.get("Allow", "")}, status=405)
        page["Allow"] = response.get("Allow", "")
        return page
