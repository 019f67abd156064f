"""Register a confidential client (and the user who will consent) on the test server."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import Application


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--auth-method", choices=["basic", "body"], required=True)
        parser.add_argument("--username", default="alice")
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--grant",
            choices=["authorization-code", "client-credentials"],
            default="authorization-code",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not User.objects.filter(username=options["username"]).exists():
            User.objects.create_user(
                options["username"], f"{options['username']}@example.com", options["password"]
            )
        # Idempotent: session fixtures defined in several conftest files each register.
        Application.objects.filter(client_id=options["client_id"]).delete()
        Application.objects.create(
            name=f"{options['auth_method']}:{options['client_id']}",
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS
            if options["grant"] == "client-credentials"
            else Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=options["redirect_uri"],
            algorithm=Application.RS256_ALGORITHM,
        )
