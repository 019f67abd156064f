"""The catalogue's pages, under Monitor > Integrations and APIs."""

from __future__ import annotations

from django.urls import path

from securitymaterial import views

app_name = "securitymaterial"
PREFIX = "monitor/integrations/"

urlpatterns = [
    path(PREFIX, views.integrations, name="integrations"),
    path(f"{PREFIX}security-material/", views.artifact_list, name="list"),
    path(f"{PREFIX}security-material/add/<slug:artifact_type>/", views.artifact_add, name="add"),
    path(f"{PREFIX}security-material/<int:pk>/", views.artifact_detail, name="detail"),
    path(f"{PREFIX}security-material/<int:pk>/edit/", views.artifact_edit, name="edit"),
    path(f"{PREFIX}security-material/<int:pk>/delete/", views.artifact_delete, name="delete"),
]
