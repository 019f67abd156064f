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
        strip=False,  # spaces alone are not "blank": they say nothing was meant
        max_length=2000,
        help_text="Names of the artifacts it may use, separated by spaces or commas. "
        "Blank: all artifacts.",
    )

    can_consume = forms.BooleanField(
        label="May fetch tokens and secrets",
        required=False,
        initial=True,
        help_text="The consumer API: access tokens, passwords and secure parameters. What "
        "integrations need.",
    )
    can_manage = forms.BooleanField(
        label="May manage artifacts",
        required=False,
        help_text="The management API: create, change and delete artifacts, whose secrets it "
        "can write but not read. Provisioning scripts need it; integrations do not.",
    )

    def clean_name(self) -> str:
        return ApiToken.new_name(self.cleaned_data["name"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("can_consume") and not data.get("can_manage"):
            self.add_error(None, "Choose what the token may do: fetch, manage, or both.")
        return data

    def clean_artifacts(self) -> list[str]:
        text = self.cleaned_data["artifacts"]
        names = [name for name in re.split(r"[\s,]+", text) if name]
        if text and not names:
            raise forms.ValidationError(
                "List the names of artifacts, or leave Artifacts blank to allow all of them."
            )
        wrong = [name for name in names if not validators.NAME_RE.fullmatch(name)]
        if wrong:
            raise forms.ValidationError(
                f"“{wrong[0][:60]}” is not an artifact name: names hold only letters, digits, "
                "underscore (_), hyphen (-) and dot (.)."
            )
        return names

    def create(self, user: Any) -> str:
        _, secret = ApiToken.create(
            self.cleaned_data["name"],
            user,
            runtime=self.cleaned_data["runtime"],
            artifact_names=self.cleaned_data["artifacts"],
            can_consume=self.cleaned_data["can_consume"],
            can_manage=self.cleaned_data["can_manage"],
        )
        return secret
