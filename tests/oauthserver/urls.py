from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests.oauthserver import microsoft

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("<str:tenant>/oauth2/v2.0/authorize", microsoft.authorize),
    path("<str:tenant>/oauth2/v2.0/token", microsoft.token),
]
