"""Authorize and Fetch Token on an artifact, and the Redirect URL: one callback path for
every artifact (the state says which one)."""

from __future__ import annotations

from django.urls import path

from oauthflows import views

app_name = "oauthflows"
CALLBACK_PATH = "/oauth2/callback/"
ARTIFACT = "monitor/integrations/security-material/<int:pk>/"

urlpatterns = [
    path(CALLBACK_PATH.lstrip("/"), views.callback, name="callback"),
    path(f"{ARTIFACT}authorize/", views.authorize, name="authorize"),
    path(f"{ARTIFACT}fetch-token/", views.fetch_token, name="fetch-token"),
]
