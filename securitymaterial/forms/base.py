"""What every artifact form shares: Name and Description, the one-name-per-runtime rule,
secrets that are never shown again, and the audit of what changed."""

from __future__ import annotations

from typing import Any, ClassVar

from crispy_forms.helper import FormHelper
from django import forms

from securitymaterial import validators
from securitymaterial.models import Artifact, Runtime


def choice_error(choices: Any) -> dict[str, str]:
    # Django's default message repeats the value, however long it is.
    return {"invalid_choice": "Choose " + " or ".join(label for _, label in choices) + "."}


class WholeNumberField(forms.IntegerField):
    """ASCII digits only (validators.DIGITS_RE): Django's IntegerField also takes "+30",
    " 30 ", "3_0", "30.0" and Arabic-Indic or full-width digits."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if not validators.DIGITS_RE.fullmatch(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


def secret_field(label: str, max_length: int, help_text: str, **kwargs: Any) -> forms.CharField:
    """Write-only: never rendered back into the page."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        strip=False,  # a secret is what was typed, spaces included
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        validators=[validators.validate_no_control_characters],
        help_text=help_text,
        **kwargs,
    )


KEEP_SECRET_HELP = "Leave blank to keep the stored secret. Stored encrypted; never shown again."  # noqa: S105 - help text


class ArtifactForm(forms.ModelForm[Artifact]):
    """Subclasses list their attributes in Meta.fields (Name first), the ones the audit
    trail shows in AUDITED_FIELDS, and their write-only fields in SECRET_FIELDS."""

    AUDITED_FIELDS: ClassVar[tuple[str, ...]] = ("description",)
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()
    # The URL fields this type's stored secrets are sent to. Every stored secret (the
    # SECRET_FIELDS and whatever kept_secrets() adds) is bound to their origins: an edit that
    # moves one to another scheme, host or port must carry each secret typed again, or it is
    # refused naming them (docs/security.md, "A secret is sent only where it was entered").
    SECRET_DESTINATIONS: ClassVar[tuple[str, ...]] = ()
    # Secrets that must be typed again on every edit (the platform asks it of some types).
    SECRETS_REQUIRED_ON_EDIT: ClassVar[bool] = False

    name = forms.CharField(
        label="Name",
        max_length=150,
        validators=[validators.validate_name],
        help_text="Integrations find the credential by this name. "
        "It cannot be changed after deploy.",
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[validators.validate_free_text],
    )

    def __init__(self, *args: Any, runtime: str = Runtime.CLOUD, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = self.instance.pk is not None
        if not self.editing:
            self.instance.runtime = runtime
        else:
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "The name cannot be changed after deploy."
            if not self.SECRETS_REQUIRED_ON_EDIT:
                for name in self.SECRET_FIELDS:
                    self.fields[name].required = False
                    self.fields[name].help_text = KEEP_SECRET_HELP
        # Snapshot before validation writes cleaned data onto the instance.
        self.original = {name: getattr(self.instance, name) for name in self.AUDITED_FIELDS}
        self.original_secrets = {
            name: getattr(self.instance, name) if self.editing else ""
            for name in self.SECRET_FIELDS
        }
        self.original_destinations = {
            name: getattr(self.instance, name) if self.editing else ""
            for name in self.SECRET_DESTINATIONS
        }
        # The labels of the destinations this edit moves to another origin.
        self.moved_destinations: list[str] = []
        self.helper = FormHelper()
        self.helper.form_tag = False

    @property
    def title(self) -> str:
        label = self.instance.type_label
        return f"Edit {self.instance.name}" if self.editing else f"Add {label}"

    def layout_context(self) -> dict[str, Any]:
        """Context for HTML snippets in the layout."""
        return {}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if self.editing:
            return self.instance.name
        clash = Artifact.named(self.instance.runtime, name)
        if clash.exists():
            runtime = Runtime(self.instance.runtime).label
            raise forms.ValidationError(
                f"An artifact named “{name}” already exists in {runtime}. Choose another name.",
                code="taken",  # the management API answers it with 409
            )
        return name

    def _post_clean(self) -> None:
        # After clean(): the destinations are final (a Tenant may have filled them).
        self._keep_secrets_only_at_their_origin()
        # A secret left blank on edit keeps the stored one.
        for name in self.SECRET_FIELDS:
            if self.editing and not self.cleaned_data.get(name) and name not in self.errors:
                self.cleaned_data[name] = self.original_secrets[name]
        super()._post_clean()  # type: ignore[misc]

    def secret_entered(self, name: str) -> bool:
        return bool(self.data.get(self.add_prefix(name)))

    def kept_secrets(self) -> list[tuple[forms.BaseForm, str, str]]:
        """The stored secrets this edit would keep without their being typed again, as
        (the form holding the field, the field, its label)."""
        return [
            (self, name, f"the {self.fields[name].label}")
            for name in self.SECRET_FIELDS
            if self.original_secrets[name]
            and not self.secret_entered(name)
            and name not in self.errors
        ]

    def _keep_secrets_only_at_their_origin(self) -> None:
        """The one place that binds stored secrets to the origin they were entered for, for
        every type, on the pages and in the management API (both go through the forms)."""
        if not self.editing:
            return
        self.moved_destinations = [
            str(self.fields[name].label)
            for name in self.SECRET_DESTINATIONS
            if name not in self.errors
            and self.cleaned_data.get(name)
            and validators.endpoint_origin(self.cleaned_data[name])
            != validators.endpoint_origin(self.original_destinations[name])
        ]
        kept = self.kept_secrets() if self.moved_destinations else []
        if not kept:
            return
        moved = " and ".join(self.moved_destinations)
        verb = "point" if len(self.moved_destinations) > 1 else "points"
        secrets = ", ".join(label for _, _, label in kept)
        message = (
            f"{moved} now {verb} to another host. Enter {secrets} again: a stored secret is "
            "only sent where it was entered."
        )
        for form, name, _ in kept:
            form.add_error(name, message)
        if any(form is not self for form, _, _ in kept):
            self.add_error(None, message)

    def changes(self) -> list[dict[str, Any]]:
        """What changed, for the audit trail; secrets only as a flag."""
        changed: list[dict[str, Any]] = []
        for name in self.AUDITED_FIELDS:
            old, new = self.original[name], self.cleaned_data.get(name)
            if old != new and (self.editing or new not in ("", None, [])):
                entry = {"field": str(self.fields[name].label), "to": self._shown(name, new)}
                if self.editing:
                    entry["from"] = self._shown(name, old)
                changed.append(entry)
        for name in self.SECRET_FIELDS:
            # A secret typed again for a new origin is a change even when it is the same.
            if self.cleaned_data.get(name) != self.original_secrets[name] or (
                self.moved_destinations and self.secret_entered(name)
            ):
                changed.append(self.secret_change(name))
        return changed

    def secret_change(self, name: str) -> dict[str, Any]:
        change: dict[str, Any] = {"field": str(self.fields[name].label), "secret": True}
        if self.moved_destinations:
            moved = " and ".join(self.moved_destinations)
            change["note"] = f"entered again because {moved} moved to another host"
        return change

    def _shown(self, name: str, value: Any) -> Any:
        """Choice labels as the admin saw them ("Microsoft 365", not "microsoft365")."""
        field = self.fields[name]
        if isinstance(field, forms.ChoiceField):
            return dict(field.choices).get(value, value)  # type: ignore[arg-type]
        return value

    def saved_fields(self) -> list[str]:
        """What an edit writes onto the locked row (the name never changes)."""
        return [name for name in self._meta.fields or () if name != "name"]

    def invalidates_tokens(self) -> bool:
        """Whether the edit changes something stored tokens depend on."""
        return False

    def deployed_notes(self) -> list[str]:
        """Sentences for the message after Deploy."""
        return []
