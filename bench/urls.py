"""The app's URLs plus /bench/constant: a bare JSON view in the same process and middleware
stack, answering a constant (what the token API is measured against)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import handler400
from config.urls import urlpatterns as app_urlpatterns

__all__ = ["handler400", "urlpatterns"]


@login_not_required
def constant(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"access_token": "constant", "token_type": "Bearer"})


urlpatterns = [path("bench/constant", constant), *app_urlpatterns]
