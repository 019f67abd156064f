"""Ninety days of an artifact's life, as the refresh service and the audit trail leave it:
for the timeline's tests, the accessibility test and the README's screenshot."""

from __future__ import annotations

from datetime import datetime, timedelta

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode

OUTAGE = "The token endpoint answered HTTP 503 (Service Unavailable). Retrying."


def lived(artifact: OAuth2AuthorizationCode, now: datetime, user: object = None) -> None:
    """Authorized 85 days ago, refreshed 20 to 24 times a day since, an outage of a day
    that healed 30 days ago, revoked 12 days ago and authorized again the day after."""
    days = {}
    for back in range(85, -1, -1):
        day = (now - timedelta(days=back)).date().isoformat()
        done, failed, why = 20 + back % 5, 0, ""
        if back == 30:
            done, failed, why = 6, 14, OUTAGE
        if back == 12:
            done, failed, why = 9, 1, "Re-authorization required: the grant was revoked."
        days[day] = [done, failed, why]
    artifact.refresh_days = days
    artifact.save(update_fields=["refresh_days"])
    for back, action, detail in (
        (85, AuditEntry.Action.AUTHORIZED, "Consent by mailer@example.com"),
        (12, AuditEntry.Action.REFRESH_FAILED, "re-authorization required: the grant was revoked"),
        (11, AuditEntry.Action.AUTHORIZED, "Consent by mailer@example.com"),
        (5, AuditEntry.Action.UPDATED, ""),
    ):
        entry = AuditEntry.record(artifact, action, user, detail=detail)
        AuditEntry.objects.filter(pk=entry.pk).update(at=now - timedelta(days=back, hours=3))
