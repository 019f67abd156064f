from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Failed sign-ins and lockouts are counted in whichever process answers them.
        from monitoring import signin  # noqa: F401 - connects its signal receivers
