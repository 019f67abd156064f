"""Failed sign-ins and lockouts, counted from the signals Django and django-axes send."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out  # type: ignore[import-untyped]
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from monitoring.instruments import SIGN_IN_FAILURES, SIGN_IN_LOCKOUTS


@receiver(user_login_failed, dispatch_uid="monitoring.sign_in_failed")
def _failed(sender: Any, **kwargs: Any) -> None:
    SIGN_IN_FAILURES.inc()


@receiver(user_locked_out, dispatch_uid="monitoring.sign_in_locked_out")
def _locked_out(sender: Any, **kwargs: Any) -> None:
    SIGN_IN_LOCKOUTS.inc()
