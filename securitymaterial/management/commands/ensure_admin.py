"""Create the first admin on a fresh installation, so a new user can sign in at once."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "If no user exists, create a superuser (password from ADMIN_PASSWORD or generated "
        "and printed once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write(
                "Users exist already; create more with: python manage.py createsuperuser"
            )
            return
        password = settings.ADMIN_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(options["username"], "", password)
        shown = "from ADMIN_PASSWORD" if settings.ADMIN_PASSWORD else password
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the first admin. User name: {options['username']}  Password: {shown}\n"
                "Change it after signing in (/admin/password_change/)."
            )
        )
