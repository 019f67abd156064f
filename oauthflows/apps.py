from __future__ import annotations

from django.apps import AppConfig


class OAuthFlowsConfig(AppConfig):
    name = "oauthflows"
    verbose_name = "OAuth flows"

    def ready(self) -> None:
        from oauthflows.providers import PROVIDERS
        from securitymaterial import providers

        providers.register(*PROVIDERS.values())
