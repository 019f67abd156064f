"""The tile's and the list's counts: maintained by a trigger on PostgreSQL, counted on
SQLite; either way equal to counting the rows, through adds, status changes and deletes."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from securitymaterial.models import Artifact, ArtifactCount, ErrorKind, SecureParameter, Status


def counted(runtime: str) -> tuple[int, int]:
    totals = Artifact.objects.filter(runtime=runtime).aggregate(
        total=Count("pk"), need=Count("pk", filter=Artifact.NEEDS_PERSON)
    )
    return totals["total"], totals["need"]


def test_counts_follow_every_change(make_artifact: Any) -> None:
    first = make_artifact(name="one")
    make_artifact(name="two", runtime="edge")
    SecureParameter.objects.create(name="three", value="v")
    assert ArtifactCount.counts("cloud") == counted("cloud") == (2, 0)
    assert ArtifactCount.counts("cloud", "secure-parameter") == (1, 0)

    first.record_permanent_failure("Revoked.", ErrorKind.REAUTHORIZE, first.created_at)
    first.save()
    assert ArtifactCount.counts("cloud") == counted("cloud") == (2, 1)

    first.record_transient_failure("Down.", None, first.created_at)  # still an error, retrying
    first.save()
    assert ArtifactCount.counts("cloud") == counted("cloud") == (2, 0)

    Artifact.objects.filter(pk=first.pk).update(status=Status.ERROR, error_kind="configuration")
    assert ArtifactCount.counts("cloud") == counted("cloud") == (2, 1)

    Artifact.objects.filter(pk=first.pk).delete()
    assert ArtifactCount.counts("cloud") == counted("cloud") == (1, 0)
    assert ArtifactCount.counts("edge") == counted("edge") == (1, 0)
