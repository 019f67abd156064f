"""Error reports (DEBUG pages and error mails) that never show a secret.

Django's SafeExceptionReporterFilter works only when DEBUG is off, hides only the
variables named in `sensitive_variables` of the decorated function itself (not of the
requests and urllib3 frames it calls, which hold the same secret under other names),
and leaves the query string alone (the callback's `code` and `state`). This one is always
active and hides:

- every local of a frame at or below a function marked with `sensitive_variables`;
- elsewhere, variables, dict keys and form or query parameters whose names say "secret",
  "token", "code", "state", "verifier", "password" and the like;
- objects that hold secrets (`holds_secrets = True` on the class), shown by type and id;
- the query string, in the request URL, the GET parameters and the request's META.
"""

from __future__ import annotations

import re
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SENSITIVE = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CODE|VERIFIER|STATE|CREDENTIAL|"
    r"SASL|BROKER|SESSION|LINK",  # LINK: a consent link's token (oauthflows.consent)
    flags=re.I,
)
QUERY_META = ("QUERY_STRING", "REQUEST_URI", "RAW_URI")


def _under_sensitive_function(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "sensitive_variables_wrapper":
            return True
        frame = frame.f_back
    return False


class SecretSafeFilter(SafeExceptionReporterFilter):
    hidden_settings = SENSITIVE

    def is_active(self, request: HttpRequest | None) -> bool:
        return True  # a DEBUG page is read by people too, and screenshots travel

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        if _under_sensitive_function(tb_frame):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return [
            (name, self.cleanse_setting(name, self.cleanse_special_types(request, value)))
            for name, value in tb_frame.f_locals.items()
        ]

    def cleanse_special_types(self, request: Any, value: Any) -> Any:
        if getattr(type(value), "holds_secrets", False):
            return f"<{type(value).__name__} {getattr(value, 'pk', '') or ''}(hidden)>"
        if isinstance(value, HttpRequest):
            return f"<{type(value).__name__}: {value.method} {value.path!r}>"
        if isinstance(value, MultiValueDict):
            return self._cleansed_parameters(value)
        return super().cleanse_special_types(request, value)

    def get_cleansed_multivaluedict(self, request: Any, multivaluedict: Any) -> Any:
        return self._cleansed_parameters(multivaluedict)

    def get_post_parameters(self, request: Any) -> Any:
        if request is None:
            return {}
        return self._cleansed_parameters(super().get_post_parameters(request))

    def get_safe_request_meta(self, request: Any) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        return {k: self.cleansed_substitute if k in QUERY_META else v for k, v in meta.items()}

    def _cleansed_parameters(self, parameters: Any) -> Any:
        cleansed = parameters.copy()
        for key in cleansed:
            if SENSITIVE.search(str(key)):
                cleansed[key] = self.cleansed_substitute
        return cleansed


class SecretSafeExceptionReporter(ExceptionReporter):
    """Shows the request's path without its query string, and GET parameters cleansed."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None:
            filter_ = SecretSafeFilter()
            data["request_GET_items"] = filter_._cleansed_parameters(self.request.GET).items()
            uri = data.get("request_insecure_uri", "")
            if "?" in uri:
                data["request_insecure_uri"] = uri.split("?", 1)[0] + "?…"
        return data
