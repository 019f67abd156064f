"""Cross-model work on artifacts: every change goes with its audit entry, in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from securitymaterial.forms import OAuth2AuthorizationCodeForm
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status


def deploy_new(form: OAuth2AuthorizationCodeForm, user: Any) -> OAuth2AuthorizationCode | None:
    """Create the artifact from a valid form; None if the name was taken meanwhile."""
    artifact = form.save(commit=False)
    artifact.mark_deployed_by(user)
    try:
        with transaction.atomic():
            artifact.save()
            AuditEntry.record(artifact, AuditEntry.Action.CREATED, user, changes=form.changes())
    except IntegrityError:
        # Two admins deployed the same name at once; the form check ran before either saved.
        form.add_error(
            "name", "An artifact with this name was deployed a moment ago. Choose another name."
        )
        return None
    return artifact


# Name is how consumers find it: never changed by an edit.
EDITABLE_FIELDS = [name for name in OAuth2AuthorizationCodeForm.Meta.fields if name != "name"]
REAUTHORIZE_AFTER_EDIT = "Changed since the last authorization: choose Authorize to sign in again."


def redeploy(form: OAuth2AuthorizationCodeForm, user: Any) -> bool:
    """Save an edit; False if nothing changed (then nothing is written, not even re-encrypted).

    The form's values go onto the freshly locked row, so tokens a refresh stored meanwhile
    are not overwritten by the copy this request loaded. A change of client, secret, scope
    or URLs puts the artifact back to Unauthorized and wipes its tokens: they belong to the
    old settings.
    """
    changes = form.changes()
    if not changes:
        return False
    edited = form.save(commit=False)
    with transaction.atomic():
        artifact = OAuth2AuthorizationCode.lock(edited.pk)
        for name in EDITABLE_FIELDS:
            setattr(artifact, name, getattr(edited, name))
        artifact.mark_deployed_by(user)
        if form.invalidates_authorization() and artifact.status != Status.UNAUTHORIZED:
            artifact.mark_unauthorized(REAUTHORIZE_AFTER_EDIT)
        artifact.save()
        AuditEntry.record(artifact, AuditEntry.Action.UPDATED, user, changes=changes)
    return True


def delete(artifact: OAuth2AuthorizationCode, user: Any) -> None:
    with transaction.atomic():
        AuditEntry.record(artifact, AuditEntry.Action.DELETED, user)
        artifact.delete()
