"""The API's JSON bodies, read strictly: a body that cannot be taken says why (ninja's own
parser says only "Cannot parse request body"), and one that JSON allows but no database
stores (a lone surrogate such as "\\ud800") is refused here, not met later as a 500."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja.parser import Parser

MAX_DEPTH = 20  # the deepest body the API documents is 3 levels


class BodyRefused(ValueError):
    """The reason, in words, is the message."""


class StrictJSON(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        try:
            body = request.body
        except RequestDataTooBig:
            limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / 1024 / 1024
            return _refuse(request, f"it is larger than the {limit:g} MB this API reads")
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as error:
            return _refuse(request, f"it is not UTF-8 (byte {error.start} cannot be decoded)")
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            return _refuse(request, f"{error.msg.lower()} at {where}")
        except RecursionError:
            return _refuse(request, f"it is nested more than {MAX_DEPTH} levels deep")
        problem = _problem(data)
        if problem:
            return _refuse(request, problem)
        return data


def _refuse(request: HttpRequest, reason: str) -> Any:
    # ninja turns any exception of a parser into its generic 400; the reason goes with the
    # request to api.base.http_error, which words the answer.
    request.body_refused = reason  # type: ignore[attr-defined]
    raise BodyRefused(reason)


def _problem(data: Any) -> str:
    """What no stored text may hold, or nesting deeper than MAX_DEPTH; "" if all is well."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"it is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            pending += [(key, depth) for key in value]
            pending += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            pending += [(item, depth + 1) for item in value]
        elif isinstance(value, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            return "a string holds a lone surrogate (such as \\ud800), which is no character"
    return ""
