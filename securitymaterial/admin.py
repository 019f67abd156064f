"""Django admin: read-only views of the catalogue; secrets only as fingerprints.

Every artifact field the admin shows is listed here (an allow-list): a field added to the
model later stays hidden until someone decides it may be shown. Deletes go through the
same service as the Security Material pages, so they are audited.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from securitymaterial import services
from securitymaterial.forms import OAuth2AuthorizationCodeForm
from securitymaterial.models import Artifact, AuditEntry, OAuth2AuthorizationCode

CATALOGUE_FIELDS = (
    "name",
    "runtime",
    "kind",
    "description",
    "status",
    "status_reason",
    "error_kind",
    "deployed_by",
    "deployed_on",
    "last_used_at",
)
# The attributes the audit trail shows anyway, then the state; never the client secret,
# access token or refresh token themselves.
SHOWN_FIELDS = (
    "name",
    "runtime",
    *OAuth2AuthorizationCodeForm.AUDITED_FIELDS,
    "client_secret_fingerprint",
    "status",
    "status_reason",
    "deployed_by",
    "deployed_on",
    "access_token_expires_at",
    "refresh_token_renewed_at",
    "token_scope",
    "authorized_account",
    "authorized_by",
    "authorized_at",
    "next_refresh_at",
    "last_used_at",
    "last_attempt_at",
    "last_attempt_result",
    "attempts_since_success",
    "failing_since",
    "error_kind",
)


class AuditedDeletes(admin.ModelAdmin[Artifact]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the Security Material pages validate and audit; use them

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Artifact) -> None:
        services.delete(obj, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Artifact]) -> None:
        for artifact in queryset:
            services.delete(artifact, request.user)


@admin.register(Artifact)
class ArtifactAdmin(AuditedDeletes):
    """Every type, by the catalogue's fields only: none of them is a secret."""

    list_display = ("name", "runtime", "kind", "status", "deployed_by", "deployed_on")
    list_filter = ("runtime", "kind", "status")
    search_fields = ("name",)
    fields = CATALOGUE_FIELDS
    readonly_fields = CATALOGUE_FIELDS


@admin.register(OAuth2AuthorizationCode)
class OAuth2AuthorizationCodeAdmin(AuditedDeletes):
    list_display = ("name", "runtime", "provider", "status", "deployed_by", "deployed_on")
    list_filter = ("runtime", "provider", "status")
    search_fields = ("name",)
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS


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
