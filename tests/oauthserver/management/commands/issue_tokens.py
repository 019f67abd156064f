"""Issue a refresh token directly (as after a consent), for tests of refreshing only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauthlib.common import generate_token


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--username", default="alice")

    def handle(self, *args: Any, **options: Any) -> None:
        application = Application.objects.get(client_id=options["client_id"])
        user = User.objects.get(username=options["username"])
        access = AccessToken.objects.create(
            user=user,
            application=application,
            token=generate_token(),
            expires=timezone.now() + timedelta(hours=1),
            scope="read",
        )
        refresh = RefreshToken.objects.create(
            user=user, application=application, token=generate_token(), access_token=access
        )
        self.stdout.write(refresh.token)
