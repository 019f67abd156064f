from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import pages as api_pages
from api import urls as api_urls
from config.signin import SignInForm
from connectivity import views as connectivity_views
from oauthflows import views as oauth_views
from oauthflows.urls import CALLBACK_PATH
from securitymaterial import views

catalogue = [
    path("", views.integrations, name="integrations"),
    path("security-material/", views.artifact_list, name="list"),
    path("security-material/add/<slug:artifact_type>/", views.artifact_add, name="add"),
    path("security-material/<int:pk>/", views.artifact_detail, name="detail"),
    path("security-material/<int:pk>/edit/", views.artifact_edit, name="edit"),
    path("security-material/<int:pk>/delete/", views.artifact_delete, name="delete"),
    path("security-material/<int:pk>/authorize/", oauth_views.authorize, name="authorize"),
    path("security-material/<int:pk>/fetch-token/", oauth_views.fetch_token, name="fetch-token"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(CALLBACK_PATH.lstrip("/"), oauth_views.callback, name="oauth2-callback"),
    path("monitor/integrations/", include((catalogue, "securitymaterial"))),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("monitor/integrations/api-tokens/", api_pages.tokens, name="api-tokens"),
    path(
        "monitor/integrations/connectivity-tests/",
        connectivity_views.connectivity_tests,
        name="connectivity-tests",
    ),
    path(
        "monitor/integrations/api-tokens/<int:pk>/revoke/",
        api_pages.revoke,
        name="api-token-revoke",
    ),
    path("api/v1/docs", api_pages.description, name="api-docs"),
    path("api/v1/", include((api_urls.urlpatterns, "api"), namespace="api")),
    path("admin/", admin.site.urls),
]

handler400 = "securitymaterial.views.bad_request"
