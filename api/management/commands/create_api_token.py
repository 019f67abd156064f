"""Create an API token for an integration; the token alone on the last line of stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from securitymaterial.models import Runtime


class Command(BaseCommand):
    help = "Create an API token (shown once), optionally limited to a runtime and artifacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who uses it, e.g. invoice-mailer")
        parser.add_argument("--runtime", choices=Runtime.values, default="")
        parser.add_argument(
            "--artifact", action="append", default=[], help="allow only this artifact (repeat)"
        )
        parser.add_argument("--manage", action="store_true", help="also allow the management API")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise CommandError("The name must be 1 to 100 printable characters.")
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"An API token named {name!r} exists already.")
        _, secret = ApiToken.create(
            name,
            runtime=options["runtime"],
            artifact_names=options["artifact"],
            can_manage=options["manage"],
        )
        self.stderr.write(f"Created the API token {name!r}. It is shown once; store it now.")
        self.stdout.write(secret)
