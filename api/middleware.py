"""Everything under /api/ answers JSON `{"detail": ...}`, as the OpenAPI description says:
Django's own answers (an unknown path, a method the operation does not take, a body too
large to read) are HTML pages otherwise. The rendered description (/api/v1/docs) is a page
for people and stays one."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API = "/api/"
PAGES = ("/api/v1/docs",)


class JsonErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API)
            or request.path.startswith(PAGES)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        answer = JsonResponse({"detail": _detail(request, response)}, status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate", "Cache-Control"):
            if header in response:
                answer[header] = response[header]
        return answer


def _detail(request: HttpRequest, response: HttpResponse) -> str:
    status = response.status_code
    if status == 404:
        return "No API operation is at this path; they are listed in /api/v1/openapi.json."
    if status == 405:
        allowed = response.get("Allow", "") or "another method"
        return f"This operation does not take {request.method}; it takes {allowed}."
    if status in (400, 413) and _too_large(request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
        return f"The request body is larger than the {limit:g} MB this API reads."
    if status >= 500:
        return "Internal error. It was logged; try again later."
    return f"The request was refused (HTTP {status})."


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and length > limit
