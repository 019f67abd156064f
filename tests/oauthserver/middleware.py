"""What the test server's token endpoint received, and JSON bodies.

Every POST to the token endpoint is written to OAUTH_SERVER_REQUESTS as one JSON line (the
content type, the query parameters, the X- headers and the body's keys with the values of
"x_"-prefixed keys), so tests can check what really arrived. Like several commercial token
endpoints, this one also accepts the body as JSON and parameters in the URL (oauthlib itself
reads only forms and refuses a query string)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.utils.datastructures import MultiValueDict


def token_requests(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., Any]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not request.path.endswith("/token/"):
            return get_response(request)
        json_body = request.content_type == "application/json"
        if json_body:
            try:
                payload = json.loads(request.body)
            except ValueError:
                return HttpResponseBadRequest("not JSON")
            form = QueryDict(mutable=True)
            for key, value in payload.items():
                form[key] = str(value)
            request._post = form  # type: ignore[attr-defined]
            request._files = MultiValueDict()  # type: ignore[attr-defined]
        record = {
            "content_type": request.content_type,
            "query": dict(request.GET.items()),
            "headers": {k: v for k, v in request.headers.items() if k.lower().startswith("x-")},
            "body_keys": sorted(request.POST.keys()),
            "body_x": {k: v for k, v in request.POST.items() if k.startswith("x_")},
            "grant_type": request.POST.get("grant_type", ""),
            "scope": request.POST.get("scope", ""),
            "resource": request.POST.get("resource", ""),
            "audience": request.POST.get("audience", ""),
            "basic": request.headers.get("Authorization", "").startswith("Basic "),
        }
        path = os.environ.get("OAUTH_SERVER_REQUESTS")
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        # oauthlib refuses query parameters on the token endpoint; the APIs that want
        # parameters in the URL read them: so does this one, then hands oauthlib the rest.
        request.META["QUERY_STRING"] = ""
        return get_response(request)

    return middleware
