"""The OAuth2 Client Credentials form, with its table of custom parameters."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import HTML, Layout
from django import forms

from securitymaterial import validators
from securitymaterial.forms.base import ArtifactForm, choice_error, secret_field
from securitymaterial.models import (
    CLIENT_AUTHENTICATION_LABELS,
    ClientAuthentication,
    OAuth2ClientCredentials,
    RequestBodyFormat,
    SendAsPartOf,
)
from securitymaterial.models.client_credentials import (
    FIELD_PARAMETERS,
    MAX_CUSTOM_PARAMETERS,
    RESERVED_HEADERS,
    RESERVED_PARAMETER_KEYS,
)

CLIENT_AUTHENTICATION_CHOICES = list(CLIENT_AUTHENTICATION_LABELS.items())
KEY_MAX_LENGTH = 100
VALUE_MAX_LENGTH = 2000
BLANK_ROWS = 3
PREFIX = "param"  # of the formset's fields on the page


class CustomParameterForm(forms.Form):
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=KEY_MAX_LENGTH,
        validators=[validators.validate_parameter_key],
    )
    # Write-only like every secret (values often hold API keys): a password input that
    # renders nothing back, not even after a failed validation.
    value = forms.CharField(
        label="Value",
        required=False,
        max_length=VALUE_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        validators=[validators.validate_no_control_characters],
    )
    send_as = forms.ChoiceField(
        label="Send as Part of",
        choices=SendAsPartOf.choices,
        initial=SendAsPartOf.BODY,
        error_messages=choice_error(SendAsPartOf.choices),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "key" in self.errors:
            return data
        key, value, part = data.get("key", ""), data.get("value", ""), data.get("send_as")
        if key.lower() in RESERVED_PARAMETER_KEYS:
            self.add_error("key", f"{key} is set by the service itself; remove this row.")
        elif part in (SendAsPartOf.BODY, SendAsPartOf.URL) and key.lower() in FIELD_PARAMETERS:
            field = FIELD_PARAMETERS[key.lower()]
            self.add_error("key", f"{key} has a field of its own: enter it in {field}.")
        elif part == SendAsPartOf.HEADER and key.lower() in RESERVED_HEADERS:
            self.add_error(
                "key", f"The header {key} is set by the service or by HTTP itself; remove it."
            )
        elif value and not key:
            self.add_error("key", "Enter a key for this value, or clear the row.")
        elif part == SendAsPartOf.HEADER and "value" not in self.errors:
            self._clean_header_value(value)
        return data

    def _clean_header_value(self, value: str) -> None:
        """What an HTTP header can carry as it is (RFC 9110 §5.5): printable ASCII, no
        space at either end (it would be dropped, and the request fail to leave)."""
        if not value.isascii() or not value.isprintable():
            self.add_error("value", "A header value can hold only printable ASCII characters.")
        elif value != value.strip():
            self.add_error("value", "Remove the spaces at the start or end of the value.")


class BaseCustomParameterFormSet(forms.BaseFormSet[CustomParameterForm]):
    default_error_messages = {
        "missing_management_form": "The table of custom parameters was not sent whole "
        "(param-TOTAL_FORMS and param-INITIAL_FORMS are missing). Reload the page and try again.",
        "too_many_forms": f"Enter at most {MAX_CUSTOM_PARAMETERS} custom parameters.",
    }

    def add_fields(self, form: CustomParameterForm, index: int | None) -> None:
        super().add_fields(form, index)
        # A table row has no label of its own: name each input after its column and row.
        for field in form.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.update(
                {
                    "class": f"{css} form-control-sm",
                    "aria-label": f"{field.label} {(index or 0) + 1}",
                }
            )

    def clean(self) -> None:
        counts = self.management_form.cleaned_data
        if min(counts.get("TOTAL_FORMS") or 0, counts.get("INITIAL_FORMS") or 0) < 0:
            # Django would take a negative count as no rows at all and drop those posted.
            raise forms.ValidationError(
                "The table of custom parameters was sent with a negative row count. Reload "
                "the page and try again."
            )
        if any(self.errors):
            return
        seen: set[tuple[str, str]] = set()
        for form in self.forms:
            key, part = form.cleaned_data.get("key", ""), form.cleaned_data.get("send_as", "")
            if key and (key.lower(), part) in seen:
                raise forms.ValidationError(f"The key {key} appears twice in the same part.")
            seen.add((key.lower(), part))

    @classmethod
    def post_data(cls, parameters: list[dict[str, Any]]) -> dict[str, str]:
        """The rows as the edit page posts them, for callers that are no browser (the
        management API). Every row is an initial one: as "extra" rows, those equal to the
        stored ones would count as untouched and be dropped."""
        prefix = PREFIX
        data = {
            f"{prefix}-TOTAL_FORMS": str(len(parameters)),
            f"{prefix}-INITIAL_FORMS": str(len(parameters)),
        }
        for index, parameter in enumerate(parameters):
            for key in ("key", "value", "send_as"):
                data[f"{prefix}-{index}-{key}"] = str(parameter.get(key) or "")
        return data

    def parameters(self) -> list[dict[str, str]]:
        return [
            {
                "key": f.cleaned_data["key"],
                "value": f.cleaned_data["value"],
                "send_as": f.cleaned_data["send_as"],
            }
            for f in self.forms
            if f.cleaned_data.get("key")
        ]


CustomParameterFormSet: type[BaseCustomParameterFormSet] = forms.formset_factory(  # type: ignore[assignment]
    CustomParameterForm,
    formset=BaseCustomParameterFormSet,
    extra=0,
    max_num=MAX_CUSTOM_PARAMETERS,
    absolute_max=MAX_CUSTOM_PARAMETERS,
    validate_max=True,
)


class OAuth2ClientCredentialsForm(ArtifactForm):
    AUDITED_FIELDS = (
        "description",
        "token_service_url",
        "client_id",
        "client_authentication",
        "scope",
        "content_type",
        "resource",
        "audience",
    )
    SECRET_FIELDS = ("client_secret",)
    SECRETS_REQUIRED_ON_EDIT = True  # as the platform requires
    SECRET_DESTINATIONS = ("token_service_url",)  # custom-parameter values go there too

    token_service_url = forms.CharField(
        label="Token Service URL",
        max_length=2000,
        validators=[validators.validate_endpoint_url],
        help_text="Where the service requests tokens with the client's credentials.",
    )
    client_id = forms.CharField(
        label="Client ID", max_length=255, validators=[validators.validate_single_word]
    )
    client_secret = secret_field(
        "Client Secret",
        1000,
        "Enter it on every deploy, edits included. Stored encrypted; never shown again.",
    )
    client_authentication = forms.ChoiceField(
        label="Client Authentication",
        choices=CLIENT_AUTHENTICATION_CHOICES,
        initial=ClientAuthentication.BODY,
        error_messages=choice_error(CLIENT_AUTHENTICATION_CHOICES),
        help_text="In the request body, or as an HTTP Basic Authorization header.",
    )
    scope = forms.CharField(
        label="Scope",
        required=False,
        max_length=2000,
        validators=[validators.validate_scope],
        help_text="Separate scopes with spaces.",
    )
    content_type = forms.ChoiceField(
        label="Content Type",
        choices=RequestBodyFormat.choices,
        initial=RequestBodyFormat.FORM,
        error_messages=choice_error(RequestBodyFormat.choices),
        help_text="How the token request body is encoded. RFC 6749 servers expect a form; "
        "some APIs want JSON.",
    )
    resource = forms.CharField(
        label="Resource",
        required=False,
        max_length=2000,
        validators=[validators.validate_single_word],
        help_text="Sent as resource (RFC 8707) when set.",
    )
    audience = forms.CharField(
        label="Audience",
        required=False,
        max_length=2000,
        validators=[validators.validate_single_word],
        help_text="Sent as audience when set.",
    )

    class Meta:
        model = OAuth2ClientCredentials
        fields = (
            "name",
            "description",
            "token_service_url",
            "client_id",
            "client_secret",
            "client_authentication",
            "scope",
            "content_type",
            "resource",
            "audience",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance: OAuth2ClientCredentials = self.instance  # type: ignore[assignment]
        self.original_parameters = instance.custom_parameters if self.editing else []
        # Values are write-only, as the client secret is (they often hold API keys): an edit
        # shows the keys and parts, and a value left blank keeps the stored one.
        shown = [{**parameter, "value": ""} for parameter in self.original_parameters]
        initial = shown + [{}] * BLANK_ROWS
        self.parameters: BaseCustomParameterFormSet = CustomParameterFormSet(
            self.data if self.is_bound else None,
            prefix=PREFIX,
            initial=initial[:MAX_CUSTOM_PARAMETERS],
        )
        self.helper.layout = Layout(
            *self._meta.fields or (),
            HTML("{% include 'securitymaterial/_custom_parameters.html' %}"),
        )

    def layout_context(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "max_parameters": MAX_CUSTOM_PARAMETERS}

    def clean_scope(self) -> str:
        return " ".join(self.cleaned_data.get("scope", "").split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.parameters.is_valid():
            data["custom_parameters"] = [
                {**p, "value": p["value"] or self._stored_value(p)}
                for p in self.parameters.parameters()
            ]
        else:
            self.add_error(None, "Correct the custom parameters.")
        return data

    def _stored_value(self, parameter: dict[str, str]) -> str:
        """The value stored for the same key (in any case) and part; a blank keeps it."""
        for stored in self.original_parameters:
            if (stored["key"].lower(), stored["send_as"]) == (
                parameter["key"].lower(),
                parameter["send_as"],
            ):
                return stored["value"]
        return ""

    def kept_secrets(self) -> list[tuple[forms.BaseForm, str, str]]:
        kept = super().kept_secrets()
        if not self.parameters.is_valid():
            return kept
        for row in self.parameters.forms:
            parameter = row.cleaned_data
            if parameter.get("key") and not parameter["value"] and self._stored_value(parameter):
                kept.append((row, "value", f"the value of {parameter['key']}"))
        return kept

    def _post_clean(self) -> None:
        super()._post_clean()
        instance: OAuth2ClientCredentials = self.instance  # type: ignore[assignment]
        instance.custom_parameters = self.cleaned_data.get("custom_parameters", [])

    def deployed_notes(self) -> list[str]:
        return [
            "Choose Fetch Token on it to try the settings now; otherwise the first consumer "
            "fetches a token."
        ]

    def saved_fields(self) -> list[str]:
        return [*super().saved_fields(), "custom_parameters_json"]

    def invalidates_tokens(self) -> bool:
        return self.editing and bool(self.changes())

    def changes(self) -> list[dict[str, Any]]:
        changed = super().changes()
        new = self.cleaned_data.get("custom_parameters", [])
        if new != self.original_parameters:
            # Keys and parts only: values may be API keys.
            shown = ", ".join(f"{p['key']} ({SendAsPartOf(p['send_as']).label})" for p in new)
            changed.append({"field": "Custom Parameters", "to": shown or "none"})
        return changed
