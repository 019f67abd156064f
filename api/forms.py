"""The form that creates an API token."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from api.models import ApiToken
from securitymaterial import validators
from securitymaterial.models import Runtime


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        validators=[validators.validate_name],
        help_text="Who uses it, for example invoice-mailer. Shown in the audit trail.",
    )
    runtime = forms.ChoiceField(
        label="Runtime",
        required=False,
        choices=[("", "Any runtime"), *Runtime.choices],
        error_messages={"invalid_choice": "Choose a runtime from the list."},
    )
    artifacts = forms.CharField(
        label="Artifacts",
        required=False,
        max_length=2000,
        help_text="Names of the artifacts it may use, separated by spaces or commas. "
        "Blank: all artifacts.",
    )

    can_manage = forms.BooleanField(
        label="May manage artifacts",
        required=False,
        help_text="Also allow the management API: create, change and delete artifacts. "
        "Integrations that only fetch tokens do not need it.",
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if ApiToken.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(f"An API token named “{name}” exists already.")
        return name

    def clean_artifacts(self) -> list[str]:
        names = [name for name in re.split(r"[\s,]+", self.cleaned_data["artifacts"]) if name]
        for name in names:
            validators.validate_name(name)
        return names

    def create(self, user: Any) -> str:
        _, secret = ApiToken.create(
            self.cleaned_data["name"],
            user,
            runtime=self.cleaned_data["runtime"],
            artifact_names=self.cleaned_data["artifacts"],
            can_manage=self.cleaned_data["can_manage"],
        )
        return secret
