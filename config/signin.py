"""Sign-in throttling (django-axes) keyed on the user name and the client's address:
nobody can lock another person out from another address, and guessing one account from
many addresses is slowed, not turned into a lock that a stranger can trigger.

- LOGIN_FAILURE_LIMIT (5) failures for a (user name, address) pair lock that pair for
  LOGIN_LOCKOUT_MINUTES.
- Once a user name has had twice that many failures from all addresses within the lockout
  time, each address gets one failure for it before its pair is locked: a botnet gets one
  guess per address, while the owner, whose address has not failed, still signs in.
- The address is REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the one the outermost
  trusted proxy saw (X-Forwarded-For, counted from the right, where proxies append).
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from securitymaterial.validators import CONTROL_RE

USER_NAME_MAX_LENGTH = 150  # Django's User.username


def client_address(request: HttpRequest) -> str | None:
    remote: str | None = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        return remote
    try:
        return str(ip_address(hops[-proxies]))
    except ValueError:  # not an address: what the client wrote, not what a proxy saw
        return remote


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    limit: int = settings.LOGIN_FAILURE_LIMIT
    username = (credentials or {}).get("username")
    if not username:
        return limit
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return 1 if (failures or 0) >= 2 * limit else limit


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the user name checked before anything is authenticated:
    Django sets its maximum length without a validator, so a name of any length (or with a
    NUL) reached the throttling's table and failed there with a 500."""

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        if len(username) > USER_NAME_MAX_LENGTH or CONTROL_RE.search(username):
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        return super().clean()
