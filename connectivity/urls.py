"""The Connectivity Tests page, under Monitor > Integrations and APIs."""

from __future__ import annotations

from django.urls import path

from connectivity import views

app_name = "connectivity"

urlpatterns = [
    path("monitor/integrations/connectivity-tests/", views.connectivity_tests, name="tests"),
]
