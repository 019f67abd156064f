"""Django admin: read-mostly views; secrets only as fingerprints, never editable here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode


@admin.register(OAuth2AuthorizationCode)
class OAuth2AuthorizationCodeAdmin(admin.ModelAdmin[OAuth2AuthorizationCode]):
    list_display = ("name", "runtime", "provider", "status", "deployed_by", "deployed_on")
    list_filter = ("runtime", "provider", "status")
    search_fields = ("name",)
    exclude = ("client_secret",)
    readonly_fields = ("client_secret_fingerprint", "status", "deployed_by", "deployed_on")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the Security Material pages validate and audit; use them

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ("at", "artifact_name", "runtime", "action", "actor_name")
    list_filter = ("action", "runtime")
    search_fields = ("artifact_name", "actor_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
