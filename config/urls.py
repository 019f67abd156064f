"""The URL root: each app's URLs, with its own namespace, and what belongs to no app."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.signin import SignInForm
from securitymaterial import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("securitymaterial.urls")),
    path("", include("oauthflows.urls")),
    path("", include("connectivity.urls")),
    path("", include("api.urls")),
    path("", include("monitoring.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "securitymaterial.views.bad_request"
