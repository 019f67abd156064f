"""The catalogue every artifact type shares: name, runtime, type, status, who deployed it,
and the audit trail.

Design: one `Artifact` table holds what the list, the tile counts, name lookups and the
audit need; each type keeps its own attributes and encrypted secrets in a table of its own
(Django multi-table inheritance, one-to-one on the artifact's id). The list never touches a
ciphertext, names are unique across types by one constraint, and a fifth type is a model
with its `KIND`, a form and a detail snippet.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from securitymaterial.validators import NAME_RE


class Runtime(models.TextChoices):
    CLOUD = "cloud", "Cloud Integration"
    EDGE = "edge", "Edge Integration Cell"


class ArtifactType(models.TextChoices):
    # The slugs appear in URLs and the API; the labels are the platform's words.
    USER_CREDENTIALS = "user-credentials", "User Credentials"
    SECURE_PARAMETER = "secure-parameter", "Secure Parameter"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2-client-credentials", "OAuth2 Client Credentials"
    OAUTH2_AUTHORIZATION_CODE = "oauth2-authorization-code", "OAuth2 Authorization Code"


class Status(models.TextChoices):
    # The words of the platform we mimic.
    STORED = "stored", "Stored"
    DEPLOYED = "deployed", "Deployed"
    ERROR = "error", "Error"
    UNAUTHORIZED = "unauthorized", "Unauthorized"


class ErrorKind(models.TextChoices):
    TRANSIENT = "transient", "retrying"
    REAUTHORIZE = "reauthorize", "re-authorization required"
    CONFIGURATION = "configuration", "configuration error"


class Artifact(models.Model):
    """What every type has. `typed()` gives the instance of its own type."""

    KIND: ClassVar[str] = ""
    # A new artifact's status; Stored until a type says otherwise.
    INITIAL_STATUS: ClassVar[str] = Status.STORED
    holds_secrets = True  # error reports show it by id only (config.debug)
    NEEDS_PERSON = models.Q(status=Status.ERROR) & ~models.Q(error_kind=ErrorKind.TRANSIENT)

    runtime = models.CharField(max_length=16, choices=Runtime.choices, default=Runtime.CLOUD)
    name = models.CharField(max_length=150)
    kind = models.CharField(
        max_length=32,
        choices=ArtifactType.choices,
        default=ArtifactType.OAUTH2_AUTHORIZATION_CODE,
    )
    description = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STORED)
    # Why the status is what it is, in plain words (the second line under the status).
    status_reason = models.CharField(max_length=1000, blank=True)
    error_kind = models.CharField(max_length=16, choices=ErrorKind.choices, blank=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The name as it was when deployed, for the list's Deployed By column and its sort
    # (an index of its own; a sort through the users' table would read every row).
    deployed_by_name = models.CharField(max_length=150, blank=True)
    deployed_on = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)  # by a consumer

    class Meta:
        ordering = ["name"]
        # Beside view/add/change/delete: what the Operator role may do without editing.
        permissions = [
            ("operate_artifact", "Can authorize, fetch tokens and run connectivity tests"),
        ]
        constraints = [
            # Integrations find a credential by name alone, whatever its type or case.
            models.UniqueConstraint(
                "runtime", Lower("name"), name="unique_name_per_runtime_any_case"
            ),
        ]
        # The list's other sorts (and the type filter), name second as the list orders: a
        # page is read off the index instead of sorting every row. On PostgreSQL, migration
        # 0005 also adds a covering name index (a page far in is read off it alone) and a
        # trigram index for the name filter's substring match.
        indexes = [
            *(
                models.Index("runtime", column, Lower("name"), name=f"artifact_list_by_{column}")
                for column in ("kind", "status", "deployed_on")
            ),
            models.Index(
                "runtime",
                Lower("deployed_by_name"),
                Lower("name"),
                name="artifact_list_by_deployed_by",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.KIND:
            self.kind = self.KIND
        if self._state.adding and self.status == Status.STORED:
            self.status = self.INITIAL_STATUS
        if self.deployed_by_id is not None and not self.deployed_by_name:
            self.deployed_by_name = self.deployed_by.get_username()  # type: ignore[union-attr]
        super().save(*args, **kwargs)

    @classmethod
    def named(cls, runtime: str, name: str) -> models.QuerySet[Self]:
        """By name in any case, through the (runtime, lower(name)) index of the uniqueness
        constraint: `name__iexact` compares UPPER() and would scan every row."""
        if not NAME_RE.fullmatch(name):
            # No artifact can be called that (names are validated), and PostgreSQL would
            # refuse some of it (a NUL) with an error rather than find nothing.
            return cls.objects.none()
        rows: models.QuerySet[Self] = cls.objects.alias(lower_name=Lower("name"))
        return rows.filter(runtime=runtime, lower_name=name.lower())

    @classmethod
    def find(cls, runtime: str, name: str, *types: type[Artifact]) -> Artifact | None:
        """The artifact of that name in any case, or None, in one query: as an instance of
        its type if it is one of `types` (joined in), else as the catalogue row. The
        consumer API's hot path: no ORDER BY, and a join only for the types it serves."""
        rows = cls.named(runtime, name).order_by()
        found = next(iter(rows.select_related(*(str(t._meta.model_name) for t in types))[:1]), None)
        if found is None or found.kind not in {t.KIND for t in types}:
            return found
        return found.typed()

    @classmethod
    @contextmanager
    def locked(cls, pk: int) -> Iterator[Self]:
        """The row in a transaction, locked until it ends, read after the lock: the one way
        to change an artifact's tokens or settings (refresh, client credentials, the
        callback, an edit)."""
        with transaction.atomic():
            yield cls.lock(pk)

    @classmethod
    def lock(cls, pk: int) -> Self:
        """The row, locked until the surrounding transaction ends, read after the lock.

        Everything that writes tokens takes it, so a rotated refresh token is never
        overwritten by a stale copy and concurrent consumers cause one token request.
        PostgreSQL (and other databases with row locks): SELECT ... FOR UPDATE of the
        artifact's row and its type's row. SQLite has no row locks; an UPDATE takes its
        database write lock, which serialises the same way.
        """
        if not connection.in_atomic_block:
            raise RuntimeError("lock() needs transaction.atomic()")
        if not connection.features.has_select_for_update:
            Artifact.objects.filter(pk=pk).update(status=F("status"))
            return cls.objects.get(pk=pk)
        # The catalogue row first, then the type's: the order every save of a type takes
        # (Django writes the parent table first), so two transactions never wait on each
        # other in a circle. One SELECT ... FOR UPDATE over the join would lock the two rows
        # in whatever order the plan scans them.
        with connection.cursor() as cursor:  # SQL of its own: refreshes take it constantly
            table = connection.ops.quote_name(Artifact._meta.db_table)
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608
            if cursor.fetchone() is None:
                raise cls.DoesNotExist(f"No artifact {pk}.")
        return cls.objects.select_for_update().get(pk=pk)

    @property
    def type_label(self) -> str:
        return ArtifactType(self.KIND or self.kind).label

    def typed(self) -> Artifact:
        """The same artifact as an instance of its type: no query if it already is one or
        its type's row was joined in (`find`), one otherwise."""
        if self.KIND:
            return self
        from securitymaterial.models import TYPES

        model = TYPES[self.kind]
        loaded = self._state.fields_cache.get(model._meta.model_name)
        return loaded if loaded is not None else model.objects.get(pk=self.pk)

    @property
    def status_hint(self) -> str:
        """The second line under the status: why, and what to do."""
        if self.status == Status.UNAUTHORIZED:
            return self.status_reason or "Choose Authorize to sign in and consent"
        if self.status == Status.ERROR and self.error_kind:
            return f"{ErrorKind(self.error_kind).label.capitalize()}: {self.status_reason}"
        return self.status_reason

    @property
    def needs_person(self) -> bool:
        """Nothing will fix it by itself: someone must authorize or correct the settings.
        NEEDS_PERSON above is the same rule as a database filter."""
        return self.status == Status.ERROR and self.error_kind != ErrorKind.TRANSIENT

    def mark_deployed_by(self, user: Any) -> None:
        self.deployed_by = user
        self.deployed_by_name = user.get_username() if user is not None else ""
        self.deployed_on = timezone.now()

    # Consumers may ask many times a second; "in use" is measured in hours.
    USE_RECORDED_EVERY = timedelta(minutes=1)

    def mark_used(self, now: datetime) -> bool:
        """A consumer used it. Written at most once a minute (True when written): the
        consumer API's hot path need not write on every call."""
        if self.last_used_at is not None and now - self.last_used_at < self.USE_RECORDED_EVERY:
            return False
        self.last_used_at = now
        self.save(update_fields=["last_used_at"])
        return True

    def use_moves_schedule(self, now: datetime) -> bool:
        """A use changes more than "last used" (securitymaterial.usage writes it at once)."""
        return False

    def settings_changed(self) -> None:
        """An edit changed what stored tokens depend on; types that hold tokens drop them."""

    def mark_error(self, reason: str) -> None:
        self.status = Status.ERROR
        self.status_reason = reason[:1000]


class AuditEntry(models.Model):
    """Who did what to which artifact, when. Secret values are never recorded."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"
        AUTHORIZED = "authorized", "Authorized"
        REFRESH_FAILED = "refresh_failed", "Refresh failed"
        AUTHORIZATION_FAILED = "authorization_failed", "Authorization failed"
        TOKEN_ISSUED = "token_issued", "Access token issued"
        TOKEN_FETCH_FAILED = "token_fetch_failed", "Token request failed"
        SECRET_READ = "secret_read", "Secret read"
        CONNECTIVITY_TESTED = "connectivity_tested", "Connectivity Test"
        API_TOKEN_CREATED = "api_token_created", "API token created"
        API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
        CONSENT_LINK_CREATED = "consent_link_created", "Consent link created"
        CONSENT_LINK_MAILED = "consent_link_mailed", "Consent link sent by mail"
        CONSENT_LINK_OPENED = "consent_link_opened", "Consent link opened"
        CONSENT_LINK_USED = "consent_link_used", "Consent link used"
        CONSENT_LINK_REVOKED = "consent_link_revoked", "Consent link revoked"

    artifact = models.ForeignKey(
        Artifact,
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    # Kept as text so the trail survives the deletion of the artifact or the user. Both are
    # blank for entries about API tokens, which belong to no artifact.
    runtime = models.CharField(max_length=16, choices=Runtime.choices, blank=True)
    artifact_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # [{"field": label, "from": old, "to": new}] or [{"field": label, "secret": true}]
    changes = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        # The token-health timeline reads an artifact's authorizations and failures of 90
        # days without the many "Access token issued" rows between them.
        indexes = [
            models.Index(fields=["artifact", "action", "at"], name="audit_by_artifact_action")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.artifact_name} by {self.actor_name}"

    SERVICE = "refresh service"  # the actor when no person or API token acted

    @classmethod
    def record(
        cls,
        artifact: Artifact,
        action: str,
        user: Any = None,
        *,
        changes: list[dict[str, Any]] | None = None,
        detail: str = "",
        actor: str = "",
    ) -> AuditEntry:
        """Write one entry; without a user, `actor` (an API token) or the service acted."""
        if not actor:
            actor = user.get_username() if user is not None else cls.SERVICE
        return cls.objects.create(
            # A deleted artifact's entry keeps only its name.
            artifact_id=None if action == cls.Action.DELETED else artifact.pk,
            runtime=artifact.runtime,
            artifact_name=artifact.name,
            action=action,
            actor=user,
            actor_name=actor[:150],
            changes=changes or [],
            detail=detail[:1000],
        )

    @classmethod
    def record_api_token(cls, action: str, token_name: str, user: Any = None) -> AuditEntry:
        """API tokens are created and revoked outside any artifact; never the token itself."""
        return cls.objects.create(
            action=action,
            actor=user,
            actor_name=user.get_username() if user is not None else "manage.py",
            detail=f"API token “{token_name}”"[:1000],
        )


class ArtifactCount(models.Model):
    """How many artifacts of a type and status a runtime holds, and how many need a person:
    what the tile, the list and /metrics show, without counting a million rows each time.

    On PostgreSQL a trigger on the artifact table keeps it (migrations 0004, 0011), inside
    the transaction that changes the artifact, so it is never off by a concurrent write.
    Other databases (the embedded SQLite) count the rows instead: see `counts`.
    """

    runtime = models.CharField(max_length=16, choices=Runtime.choices)
    kind = models.CharField(max_length=32, choices=ArtifactType.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    total = models.IntegerField(default=0)
    need_person = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["runtime", "kind", "status"], name="one_count_per_type_and_status"
            )
        ]

    def __str__(self) -> str:
        return f"{self.runtime} {self.kind} {self.status}: {self.total}"

    @staticmethod
    def maintained() -> bool:
        return connection.vendor == "postgresql"

    @classmethod
    def counts(cls, runtime: str, kind: str = "") -> tuple[int, int]:
        """(artifacts, of which need a person) in a runtime, optionally of one type."""
        if cls.maintained():
            rows = cls.objects.filter(runtime=runtime)
            if kind:
                rows = rows.filter(kind=kind)
            totals = rows.aggregate(total=models.Sum("total"), need=models.Sum("need_person"))
            return totals["total"] or 0, totals["need"] or 0
        artifacts = Artifact.objects.filter(runtime=runtime)
        if kind:
            artifacts = artifacts.filter(kind=kind)
        totals = artifacts.aggregate(
            total=models.Count("pk"), need=models.Count("pk", filter=Artifact.NEEDS_PERSON)
        )
        return totals["total"], totals["need"]

    @classmethod
    def by_status(cls) -> list[tuple[str, str, str, int, int]]:
        """(runtime, type, status, artifacts, of which need a person) for every combination
        that has artifacts."""
        rows = cls.objects.filter(total__gt=0) if cls.maintained() else cls._counted()
        return list(
            rows.order_by("runtime", "kind", "status").values_list(
                "runtime", "kind", "status", "total", "need_person"
            )
        )

    @staticmethod
    def _counted() -> Any:
        """The same columns, counted from the artifacts."""
        return (
            Artifact.objects.order_by()
            .values("runtime", "kind", "status")
            .annotate(
                total=models.Count("pk"),
                need_person=models.Count("pk", filter=Artifact.NEEDS_PERSON),
            )
        )
