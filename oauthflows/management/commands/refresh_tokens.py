"""The refresh task's twin for operators and tests: runs the same service synchronously."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from oauthflows import refresh
from securitymaterial.models import OAuth2AuthorizationCode


class Command(BaseCommand):
    help = "Refresh the tokens of due artifacts (or of one, with --name) and say what happened."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="only this artifact (in any runtime)")
        parser.add_argument("--force", action="store_true", help="refresh even if not due")
        parser.add_argument("--dry-run", action="store_true", help="only list what is due")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["name"]:
            pks = list(
                OAuth2AuthorizationCode.objects.filter(name=options["name"]).values_list(
                    "pk", flat=True
                )
            )
            if not pks:
                raise CommandError(f"No artifact is named {options['name']!r}.")
        else:
            pks = refresh.due_artifacts(now)
        if options["dry_run"]:
            for artifact in OAuth2AuthorizationCode.objects.filter(pk__in=pks):
                due = "due" if artifact.refresh_due(now) else "not due"
                self.stdout.write(f"{artifact.name}: {due}, next {artifact.next_refresh_at}")
            return
        for pk in pks:
            self.stdout.write(str(refresh.refresh_artifact(pk, force=options["force"])))
        if not pks:
            self.stdout.write("Nothing is due.")
