"""Every request gets an id: the caller's X-Request-ID if it is plain, else a new one. It
is in each log line of the request (LOG_FORMAT=json), gunicorn's access line and the
answer's X-Request-ID header, so a consumer's report finds the service's lines."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from monitoring import logcontext


class RequestId:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logcontext.new_request_id(request.headers.get("X-Request-ID", ""))
        logcontext.begin(request_id)  # ended on request_finished (monitoring.apps)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
