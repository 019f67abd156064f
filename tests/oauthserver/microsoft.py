"""A local stand-in for the Microsoft identity platform v2.0 endpoints.

The real server underneath is django-oauth-toolkit; this wraps it in the ways Microsoft
documents (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow,
https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes): a refresh
token only with offline_access, the scope echoed without offline_access, ext_expires_in, and error
bodies with AADSTS error_codes, trace_id and correlation_id.
"""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import AuthorizationView, TokenView

AADSTS = {
    "invalid_grant": (70000, "The provided value for the 'code' or 'refresh_token' is not valid."),
    "invalid_client": (7000215, "Invalid client secret provided."),
    "invalid_request": (900144, "The request body must contain the required parameter."),
    "invalid_scope": (70011, "The provided value for the input parameter 'scope' is not valid."),
}


def authorize(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.GET.get("response_mode", "query") != "query":
        return HttpResponse("this stand-in answers with response_mode=query only", status=400)
    return AuthorizationView.as_view()(request)


@csrf_exempt
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    response = TokenView.as_view()(request)
    payload = json.loads(response.content)
    if "error" in payload:
        code, text = AADSTS.get(payload["error"], (90000, "Unknown error."))
        return JsonResponse(
            {
                "error": payload["error"],
                "error_description": f"AADSTS{code}: {text} Trace ID: x Correlation ID: y",
                "error_codes": [code],
                "timestamp": timezone.now().strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
            },
            status=response.status_code,
        )
    scopes = payload.get("scope", "").split()
    if "offline_access" not in scopes:
        payload.pop("refresh_token", None)
    payload["scope"] = " ".join(s for s in scopes if s != "offline_access")
    payload["ext_expires_in"] = payload["expires_in"]
    return JsonResponse(payload)
