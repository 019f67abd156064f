"""Print a valid access token for shell scripts: the token and nothing else on stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauthflows import access
from securitymaterial.models import (
    Artifact,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    Runtime,
)

# sysexits.h: a script can tell "try again later" from "someone must act".
EX_TEMPFAIL = 75
EX_CONFIG = 78


class Command(BaseCommand):
    help = (
        "Print a valid access token of an OAuth2 Authorization Code artifact (refreshed "
        f"first if it expires too soon). Exit {EX_TEMPFAIL}: try again later; "
        f"exit {EX_CONFIG}: an admin must act."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the artifact's name")
        parser.add_argument("--runtime", default=Runtime.CLOUD, choices=Runtime.values)
        parser.add_argument(
            "--min-valid-seconds",
            type=int,
            default=300,
            help="refresh first if the token expires sooner (capped at half its lifetime)",
        )
        parser.add_argument(
            "--xoauth2", action="store_true", help="print the base64 SASL XOAUTH2 string instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["min_valid_seconds"] <= 86400:
            raise CommandError("--min-valid-seconds must be from 0 to 86400.")
        artifact = Artifact.find(
            options["runtime"], options["name"], OAuth2AuthorizationCode, OAuth2ClientCredentials
        )
        if not isinstance(artifact, OAuth2AuthorizationCode | OAuth2ClientCredentials):
            raise CommandError(
                f"No OAuth2 Authorization Code or Client Credentials artifact is named "
                f"{options['name'][:150]!r} in {Runtime(options['runtime']).label}."
            )
        try:
            token = access.issue(
                artifact,
                min_valid_seconds=options["min_valid_seconds"],
                via="the access_token command",
            )
        except access.TokenUnavailable as error:
            self.stderr.write(error.message)
            raise SystemExit(EX_CONFIG if error.needs_person else EX_TEMPFAIL) from None
        self.stdout.write(token.sasl_xoauth2 if options["xoauth2"] else token.access_token)
