"""Authorize and Fetch Token on an artifact, and the Redirect URL: one callback path for
every artifact (the state says which one)."""

from __future__ import annotations

from django.urls import path

from oauthflows import consent_views, views

app_name = "oauthflows"
CALLBACK_PATH = "/oauth2/callback/"
ARTIFACT = "monitor/integrations/security-material/<int:pk>/"

urlpatterns = [
    path(CALLBACK_PATH.lstrip("/"), views.callback, name="callback"),
    path(f"{ARTIFACT}authorize/", views.authorize, name="authorize"),
    path(f"{ARTIFACT}fetch-token/", views.fetch_token, name="fetch-token"),
    path(f"{ARTIFACT}consent-link/", consent_views.create_link, name="consent-link-create"),
    path(f"{ARTIFACT}consent-link/mail/", consent_views.mail_link, name="consent-link-mail"),
    path(f"{ARTIFACT}consent-link/revoke/", consent_views.revoke_link, name="consent-link-revoke"),
    # The mailbox owner's pages: no sign-in (oauthflows.consent).
    path("consent/", consent_views.consent_page, name="consent"),
    path("consent/recorded/", consent_views.consent_recorded, name="consent-recorded"),
]
