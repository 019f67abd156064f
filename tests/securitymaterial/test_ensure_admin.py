"""ensure_admin creates the first admin on a fresh installation, and only then."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command


def test_it_creates_a_superuser_with_a_printed_password(db: None) -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("Password: ")[1].split()[0]
    user = User.objects.get()
    assert user.is_superuser
    assert user.check_password(password)


def test_it_takes_the_password_from_the_environment(db: None, settings: Any) -> None:
    settings.ADMIN_PASSWORD = "from-env-password"  # config.settings reads ADMIN_PASSWORD(_FILE)
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "from-env-password" not in out.getvalue()
    assert User.objects.get().check_password("from-env-password")


def test_it_does_nothing_when_users_exist(db: None) -> None:
    User.objects.create_user("someone")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "Users exist already" in out.getvalue()
    assert User.objects.count() == 1
