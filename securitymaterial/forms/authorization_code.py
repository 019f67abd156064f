"""The OAuth2 Authorization Code form: every documented attribute with its label and rule."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import HTML, Field, Layout
from django import forms

import oauthproviders
from oauthproviders import Provider
from securitymaterial import validators
from securitymaterial.forms.base import (
    ArtifactForm,
    WholeNumberField,
    choice_error,
    secret_field,
)
from securitymaterial.models import ClientAuthentication, OAuth2AuthorizationCode
from securitymaterial.providers import redirect_url

URL_FIELDS = ("authorization_url", "token_service_url")
SCOPE_MAX_LENGTH = 2000


class OAuth2AuthorizationCodeForm(ArtifactForm):
    # Shown in the audit trail; Client Secret only ever as "changed".
    AUDITED_FIELDS = (
        "description",
        "provider",
        "tenant",
        "authorization_url",
        "token_service_url",
        "refresh_token_expiry_days",
        "client_id",
        "send_as",
        "user_name",
        "scope",
        "use_pkce",
    )
    SECRET_FIELDS = ("client_secret",)
    # The token endpoint receives the secret; a moved authorization endpoint could show the
    # person who signs in a look-alike page, so it counts too.
    SECRET_DESTINATIONS = URL_FIELDS

    provider = forms.ChoiceField(
        label="Provider",
        choices=oauthproviders.choices,
    )
    tenant = forms.CharField(
        label="Tenant",
        required=False,
        max_length=255,
        validators=[validators.validate_tenant],
        help_text="Directory (tenant) ID or verified domain from Microsoft Entra ID. "
        "It fills Authorization URL and Token Service URL. Apps registered for one "
        "organization fail with “common”.",
    )
    authorization_url = forms.CharField(
        label="Authorization URL",
        required=False,
        max_length=2000,
        validators=[validators.validate_endpoint_url],
        help_text="Where the admin signs in and consents. Query parameters you add "
        "(such as prompt=consent) are kept.",
    )
    token_service_url = forms.CharField(
        label="Token Service URL",
        required=False,
        max_length=2000,
        validators=[validators.validate_endpoint_url],
        help_text="Where the service exchanges the code and refreshes tokens.",
    )
    refresh_token_expiry_days = WholeNumberField(
        label="Refresh Token Expiry",
        required=False,
        # The limits depend on the provider; clean() says which apply.
        error_messages={"invalid": "Enter a whole number of days in digits 0 to 9."},
        help_text="Days after which an unused refresh token expires. Microsoft 365: 3 to 90 "
        "(default 90). Generic: at least 3, or blank if refresh tokens never expire. "
        "The service renews the refresh token well before this age.",
    )
    client_id = forms.CharField(
        label="Client ID",
        max_length=255,
        validators=[validators.validate_single_word],
        help_text="The application (client) ID of your app registration.",
    )
    client_secret = secret_field(
        "Client Secret",
        1000,
        "The secret value (not its ID). Stored encrypted; never shown again.",
    )
    send_as = forms.ChoiceField(
        label="Send As",
        choices=ClientAuthentication.choices,
        initial=ClientAuthentication.BODY,
        error_messages=choice_error(ClientAuthentication.choices),
        help_text="How the client ID and secret reach the Token Service URL: in the request "
        "body, or as an HTTP Basic Authorization header.",
    )
    user_name = forms.CharField(
        label="User Name",
        required=False,
        max_length=254,
        validators=[validators.validate_single_word],
        help_text="The account whose mailbox or resources are accessed, for example "
        "mailer@contoso.com. Suggested at sign-in and used for XOAUTH2.",
    )
    scope = forms.CharField(
        label="Scope",
        required=False,
        max_length=SCOPE_MAX_LENGTH,
        validators=[validators.validate_scope],
        help_text="Separate scopes with spaces. For Microsoft 365, offline_access is added "
        "automatically if missing, because the service needs a refresh token.",
    )

    use_pkce = forms.BooleanField(
        label="Use PKCE",
        required=False,
        initial=True,
        help_text="Protects the sign-in with a one-time proof (RFC 7636, S256). Turn it off "
        "only for servers that reject it.",
    )

    class Meta:
        model = OAuth2AuthorizationCode
        fields = (
            "name",
            "description",
            "provider",
            "tenant",
            "authorization_url",
            "token_service_url",
            "refresh_token_expiry_days",
            "client_id",
            "client_secret",
            "send_as",
            "user_name",
            "scope",
            "use_pkce",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = oauthproviders.default()
        self.fields["provider"].initial = default.id
        self.fields["provider"].error_messages.update(choice_error(oauthproviders.choices()))
        if not self.editing:
            self.fields["refresh_token_expiry_days"].initial = default.default_refresh_days
        self.added_scopes: list[str] = []
        # Notes on what a Tenant change did.
        self.url_notes: list[str] = []
        self.helper.layout = Layout(
            "name",
            "description",
            "provider",
            Field("tenant", wrapper_class="provider-only", data_provider_only="microsoft365"),
            "authorization_url",
            "token_service_url",
            "refresh_token_expiry_days",
            HTML("{% include 'securitymaterial/_redirect_url_field.html' %}"),
            "client_id",
            "client_secret",
            "send_as",
            "user_name",
            "scope",
            HTML("{% include 'securitymaterial/_scope_suggestions.html' %}"),
            "use_pkce",
        )

    def layout_context(self) -> dict[str, Any]:
        tenant_provider = next(p for p in oauthproviders.PROVIDERS.values() if p.needs_tenant)
        return {
            "redirect_url": redirect_url(),
            "scope_suggestions": tenant_provider.scope_suggestions,
            "ms_authorize_template": tenant_provider.authorization_url_template,
            "ms_token_template": tenant_provider.token_url_template,
        }

    def provider_class(self) -> type[Provider]:
        return oauthproviders.get(self.cleaned_data.get("provider", "")) or oauthproviders.default()

    def clean_scope(self) -> str:
        return " ".join(self.cleaned_data.get("scope", "").split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = self.provider_class()
        if not provider.needs_tenant:
            # The Tenant row is hidden for this provider: its value and errors do not count.
            self.errors.pop("tenant", None)
            data["tenant"] = ""
        self._clean_tenant_and_urls(provider, data)
        self._clean_refresh_token_expiry(provider, data)
        if "scope" in data:
            self._complete_scope(provider, data)
        return data

    def _complete_scope(self, provider: type[Provider], data: dict[str, Any]) -> None:
        data["scope"], self.added_scopes = provider.complete_scope(data["scope"])
        if len(data["scope"]) > SCOPE_MAX_LENGTH:
            added = " and ".join(self.added_scopes)
            self.add_error(
                "scope",
                f"Scope holds up to {SCOPE_MAX_LENGTH} characters including {added}, which "
                f"{provider.label} needs: shorten it by "
                f"{len(data['scope']) - SCOPE_MAX_LENGTH} characters.",
            )

    def _clean_tenant_and_urls(self, provider: type[Provider], data: dict[str, Any]) -> None:
        """Fill blank URLs from the tenant; URLs the admin wrote win (national clouds, proxies).

        On edit, a changed Tenant also moves URLs that are still the old tenant's defaults;
        URLs typed by hand stay as they are. `url_notes` says which it did.
        """
        tenant = data.get("tenant", "")
        urls = provider.urls_for_tenant(tenant) if tenant else None
        old_tenant = self.original["tenant"] if self.editing else ""
        tenant_changed = bool(self.editing and urls and tenant != old_tenant)
        old_urls = (
            provider.urls_for_tenant(old_tenant)
            if tenant_changed and old_tenant and self.original["provider"] == provider.id
            else None
        )
        followed: list[str] = []
        for index, field in enumerate(URL_FIELDS):
            if field in self.errors:
                continue
            value = data.get(field)
            if value and urls and tenant_changed:
                label = str(self.fields[field].label)
                if old_urls and value == old_urls[index]:
                    data[field] = urls[index]
                if data[field] == urls[index]:  # moved here, or already by the browser
                    followed.append(label)
                else:
                    self.url_notes.append(
                        f"{label} was typed by hand and stays as it is; change it if it "
                        f"should use the tenant {tenant} too."
                    )
            if value:
                continue
            if urls:
                data[field] = urls[index]
            elif provider.needs_tenant:
                self.add_error(field, "Enter the URL, or enter the Tenant to fill it in.")
            else:
                self.add_error(field, "Enter the URL.")
        if followed:
            verb = "use" if len(followed) > 1 else "uses"
            self.url_notes.insert(0, f"{' and '.join(followed)} now {verb} the tenant {tenant}.")

    def _clean_refresh_token_expiry(self, provider: type[Provider], data: dict[str, Any]) -> None:
        if "refresh_token_expiry_days" in self.errors:
            return
        days = data.get("refresh_token_expiry_days")
        if days is None:
            if not provider.refresh_days_may_be_blank:
                self.add_error(
                    "refresh_token_expiry_days",
                    f"Enter a number of days from {provider.min_refresh_days} to "
                    f"{provider.max_refresh_days} ({provider.default_refresh_days} is "
                    f"{provider.label}'s default).",
                )
            return
        if not provider.min_refresh_days <= days <= provider.max_refresh_days:
            blank = (
                ", or leave it blank if refresh tokens never expire"
                if provider.refresh_days_may_be_blank
                else ""
            )
            self.add_error(
                "refresh_token_expiry_days",
                f"For {provider.label}, enter from {provider.min_refresh_days} to "
                f"{provider.max_refresh_days} days{blank}.",
            )

    def deployed_notes(self) -> list[str]:
        notes = []
        if self.added_scopes:
            notes.append(
                f"{' '.join(self.added_scopes)} was added to Scope so that "
                f"{self.provider_class().label} returns a refresh token."
            )
        notes += self.url_notes
        if self.instance.status == "unauthorized":
            notes.append("Choose Authorize to sign in and consent.")
        return notes

    def invalidates_tokens(self) -> bool:
        """Another client, secret, scope or server: the stored tokens are not valid for it."""
        before = {**self.original, **self.original_secrets}
        return self.editing and any(
            before[name] != self.cleaned_data.get(name)
            for name in OAuth2AuthorizationCode.AUTHORIZATION_FIELDS
        )
