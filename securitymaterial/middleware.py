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
        logger.error("%s %s: %s", request.method, request.path, crypto.UNREADABLE)
        return render(request, "503.html", {"message": crypto.UNREADABLE}, status=503)
