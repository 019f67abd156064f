"""What a provider is: a small declarative class, no registration magic."""

from __future__ import annotations

from typing import ClassVar


class Provider:
    id: ClassVar[str]
    label: ClassVar[str]
    # "{tenant}" is replaced by the artifact's tenant; None means the admin writes the URL.
    authorization_url_template: ClassVar[str | None] = None
    token_url_template: ClassVar[str | None] = None
    needs_tenant: ClassVar[bool] = False
    # Scopes the provider needs to return a refresh token; added when the admin leaves them out.
    required_scopes: ClassVar[tuple[str, ...]] = ()
    scope_suggestions: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Refresh Token Expiry in days.
    min_refresh_days: ClassVar[int] = 3
    max_refresh_days: ClassVar[int | None] = None
    default_refresh_days: ClassVar[int | None] = None
    refresh_days_may_be_blank: ClassVar[bool] = True

    @classmethod
    def urls_for_tenant(cls, tenant: str) -> tuple[str, str] | None:
        if cls.authorization_url_template is None or cls.token_url_template is None:
            return None
        return (
            cls.authorization_url_template.format(tenant=tenant),
            cls.token_url_template.format(tenant=tenant),
        )

    @classmethod
    def complete_scope(cls, scope: str) -> tuple[str, list[str]]:
        """Return the scope with the required scopes appended, and which ones were added."""
        scopes = scope.split()
        added = [required for required in cls.required_scopes if required not in scopes]
        return " ".join(scopes + added), added
