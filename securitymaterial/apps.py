from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class SecurityMaterialConfig(AppConfig):
    name = "securitymaterial"
    verbose_name = "Security Material"

    def ready(self) -> None:
        from securitymaterial.checks import (
            check_deadlines,
            check_encryption_keys,
            check_file_permissions,
            check_stored_secrets_readable,
        )

        checks.register(check_encryption_keys, checks.Tags.security)
        checks.register(check_file_permissions, checks.Tags.security)
        checks.register(check_deadlines)
        checks.register(check_stored_secrets_readable, checks.Tags.database)
