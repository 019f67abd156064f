"""User Credentials and Secure Parameter: a secret kept for integrations, nothing to fetch."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import Field, Layout
from django import forms

from securitymaterial import validators
from securitymaterial.forms.base import ArtifactForm, choice_error, secret_field
from securitymaterial.models import SecureParameter, UserCredentials

PASSWORD_MAX_LENGTH = 255
SECURE_PARAMETER_MAX_LENGTH = 4096


class UserCredentialsForm(ArtifactForm):
    AUDITED_FIELDS = ("description", "credential_kind", "company_id", "user")
    SECRET_FIELDS = ("password",)

    credential_kind = forms.ChoiceField(
        label="Type",
        choices=UserCredentials.Kind.choices,
        initial=UserCredentials.Kind.DEFAULT,
        error_messages=choice_error(UserCredentials.Kind.choices),
    )
    company_id = forms.CharField(
        label="Company ID",
        required=False,
        max_length=255,
        validators=[validators.validate_single_word],
        help_text="The SuccessFactors company the user belongs to.",
    )
    user = forms.CharField(
        label="User",
        max_length=255,
        validators=[validators.validate_single_word],
    )
    password = secret_field(
        "Password",
        PASSWORD_MAX_LENGTH,
        f"Up to {PASSWORD_MAX_LENGTH} characters. Stored encrypted; never shown again.",
    )

    class Meta:
        model = UserCredentials
        fields = ("name", "description", "credential_kind", "company_id", "user", "password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.layout = Layout(
            "name",
            "description",
            "credential_kind",
            Field(
                "company_id",
                wrapper_class="kind-only",
                data_kind_only=UserCredentials.Kind.SUCCESSFACTORS,
            ),
            "user",
            "password",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("credential_kind") == UserCredentials.Kind.SUCCESSFACTORS:
            if not data.get("company_id") and "company_id" not in self.errors:
                self.add_error("company_id", "Enter the Company ID for SuccessFactors.")
        else:
            # The row is hidden for this type: its value and errors do not count.
            self.errors.pop("company_id", None)
            data["company_id"] = ""
        return data


class SecureParameterForm(ArtifactForm):
    AUDITED_FIELDS = ("description",)
    SECRET_FIELDS = ("value",)

    value = secret_field(
        "Secure Parameter",
        SECURE_PARAMETER_MAX_LENGTH,
        f"Up to {SECURE_PARAMETER_MAX_LENGTH} characters. Stored encrypted; never shown again.",
    )
    repeat_value = secret_field("Repeat Secure Parameter", SECURE_PARAMETER_MAX_LENGTH, "")

    class Meta:
        model = SecureParameter
        fields = ("name", "description", "value")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repeat_value"].required = self.fields["value"].required
        self.helper.layout = Layout("name", "description", "value", "repeat_value")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "value" in self.errors or "repeat_value" in self.errors:
            return data
        if data.get("value", "") != data.get("repeat_value", ""):
            self.add_error("repeat_value", "The two entries differ. Type the same value twice.")
        return data
