"""Cross-model work on artifacts: every change goes with its audit entry, in one transaction.
The pages and the management API both call these, so both are audited alike."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from securitymaterial.forms import ArtifactForm
from securitymaterial.models import Artifact, AuditEntry

NAME_TAKEN = "An artifact with this name was deployed a moment ago. Choose another name."


def deploy_new(form: ArtifactForm, user: Any, *, actor: str = "") -> Artifact | None:
    """Create the artifact from a valid form; None if the name was taken meanwhile."""
    artifact = form.save(commit=False)
    artifact.mark_deployed_by(user)
    try:
        with transaction.atomic():
            artifact.save()
            AuditEntry.record(
                artifact, AuditEntry.Action.CREATED, user, changes=form.changes(), actor=actor
            )
    except IntegrityError:
        # Two admins deployed the same name at once; the form check ran before either saved.
        form.add_error("name", NAME_TAKEN)
        return None
    return artifact


def redeploy(form: ArtifactForm, user: Any, *, actor: str = "") -> bool:
    """Save an edit; False if nothing changed (then nothing is written, not even re-encrypted).

    The form's values go onto the freshly locked row, so tokens a refresh stored meanwhile
    are not overwritten by the copy this request loaded. A change the stored tokens depend
    on lets the type drop them (`settings_changed`): they belong to the old settings.
    """
    changes = form.changes()
    if not changes:
        return False
    edited = form.save(commit=False)
    with type(edited).locked(edited.pk) as artifact:
        for name in form.saved_fields():
            setattr(artifact, name, getattr(edited, name))
        artifact.mark_deployed_by(user)
        if form.invalidates_tokens():
            artifact.settings_changed()
        artifact.save()
        AuditEntry.record(artifact, AuditEntry.Action.UPDATED, user, changes=changes, actor=actor)
    return True


def delete(artifact: Artifact, user: Any, *, actor: str = "") -> None:
    with transaction.atomic():
        AuditEntry.record(artifact, AuditEntry.Action.DELETED, user, actor=actor)
        artifact.delete()
