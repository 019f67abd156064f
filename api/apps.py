from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # Every process that changes artifacts or API tokens (web, workers, commands) tells
        # the web processes' kept token answers.
        from api import answers  # noqa: F401 - connects its signal receivers
