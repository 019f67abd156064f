"""Create an API token for an integration; the token alone on the last line of stdout."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from securitymaterial import validators
from securitymaterial.models import Runtime


class Command(BaseCommand):
    help = "Create an API token (shown once), optionally limited to a runtime and artifacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who uses it, e.g. invoice-mailer")
        parser.add_argument("--runtime", choices=Runtime.values, default="")
        parser.add_argument(
            "--artifact", action="append", default=[], help="allow only this artifact (repeat)"
        )
        parser.add_argument(
            "--consume",
            action="store_true",
            help="may fetch tokens and secrets (the default when --manage is not given)",
        )
        parser.add_argument(
            "--manage",
            action="store_true",
            help="may use the management API; alone, it reads no token or secret",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            name = ApiToken.new_name(options["name"].strip())
            for artifact in options["artifact"]:
                validators.validate_name(artifact)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        _, secret = ApiToken.create(
            name,
            runtime=options["runtime"],
            artifact_names=options["artifact"],
            can_consume=options["consume"] or not options["manage"],
            can_manage=options["manage"],
        )
        self.stderr.write(f"Created the API token {name!r}. It is shown once; store it now.")
        self.stdout.write(secret)
