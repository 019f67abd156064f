"""The Connectivity Tests form: one for SMTP, one for IMAP, as the platform has them."""

from __future__ import annotations

import socket
from typing import Any

from django import forms
from django.conf import settings

import oauthproviders
from securitymaterial import addresses, validators
from securitymaterial.forms.base import WholeNumberField, choice_error
from securitymaterial.models import OAuth2AuthorizationCode, Status

PROTECTIONS = [("starttls", "STARTTLS"), ("tls", "TLS"), ("none", "None")]
AUTHENTICATIONS = [("oauth2-authorization-code", "OAuth2 Authorization Code")]
# Microsoft 365's hosts: https://support.microsoft.com/en-us/office/pop-imap-and-smtp-settings-
# 8361e398-8af4-4e97-b147-6c6c4ac95353
DEFAULTS = {
    "smtp": {"host": "smtp.office365.com", "port": 587, "protection": "starttls"},
    "imap": {"host": "outlook.office365.com", "port": 993, "protection": "tls"},
}


class ConnectivityForm(forms.Form):
    host = forms.CharField(label="Host", max_length=253)
    port = WholeNumberField(
        label="Port",
        min_value=1,
        max_value=65535,
        error_messages={"invalid": "Enter a port number from 1 to 65535."},
    )
    protection = forms.ChoiceField(
        label="Protection",
        choices=PROTECTIONS,
        error_messages=choice_error(PROTECTIONS),
        help_text="None only for a server on this machine (localhost, 127.0.0.1, [::1]).",
    )
    authentication = forms.ChoiceField(
        label="Authentication",
        choices=AUTHENTICATIONS,
        error_messages=choice_error(AUTHENTICATIONS),
    )
    # A name checked in clean_credential_name, which says why one cannot be used (a choice
    # field would only echo the posted value, however long, as "not one of the choices").
    credential_name = forms.CharField(
        label="Credential Name",
        max_length=150,
        widget=forms.Select,
        help_text="The artifact whose access token signs in, as its User Name.",
    )
    send_to = forms.EmailField(
        label="Send a test message to",
        required=False,
        help_text="Optional. Leave blank to sign in only.",
    )

    def __init__(
        self, *args: Any, protocol: str, runtime: str, any_host: bool, **kwargs: Any
    ) -> None:
        """`any_host`: an Administrator may test any host the address policy allows; an
        Operator only the allowed mail hosts (the provider's own and
        CONNECTIVITY_ALLOWED_HOSTS), since the artifact's live token goes there."""
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self.runtime = runtime
        self.any_host = any_host
        self.artifacts = {
            artifact.name: artifact
            for artifact in OAuth2AuthorizationCode.objects.filter(runtime=runtime).exclude(
                status=Status.UNAUTHORIZED
            )
        }
        credential = self.fields["credential_name"]
        assert isinstance(credential.widget, forms.Select)
        credential.widget.choices = [
            (name, f"{name} ({artifact.user_name})" if artifact.user_name else name)
            for name, artifact in self.artifacts.items()
        ]
        if protocol != "smtp":
            del self.fields["send_to"]
        for name, value in DEFAULTS[protocol].items():
            self.fields[name].initial = value

    def clean_host(self) -> str:
        try:
            return validators.validate_host(self.cleaned_data["host"].strip().lower())
        except forms.ValidationError:
            raise forms.ValidationError(
                "Enter a host name such as smtp.office365.com, or an IP address; write an "
                "IPv6 address in brackets, such as [::1]."
            ) from None

    def clean_credential_name(self) -> str:
        name: str = self.cleaned_data["credential_name"]
        if name in self.artifacts:
            return name
        shown = name if len(name) <= 60 else name[:60] + "…"
        named = validators.NAME_RE.fullmatch(name) is not None  # else no artifact has it
        known = OAuth2AuthorizationCode.named(self.runtime, name).first()
        elsewhere = named and OAuth2AuthorizationCode.objects.filter(name__iexact=name).first()
        if known is not None:
            raise forms.ValidationError(
                f"{known.name} is not authorized yet: choose Authorize on it first."
            )
        if elsewhere:
            raise forms.ValidationError(
                f"{elsewhere.name} is in {elsewhere.get_runtime_display()}: choose that Runtime."
            )
        raise forms.ValidationError(
            f"No OAuth2 Authorization Code artifact is named “{shown}” in this Runtime."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        host, port = data.get("host"), data.get("port")
        if not host or not port:
            return data
        if not self.any_host and "credential_name" in data:
            allowed = self.allowed_hosts(self.artifact)
            if host not in allowed:
                self.add_error(
                    "host",
                    f"Operators may test only against the provider's mail hosts and those an "
                    f"administrator allowed: {', '.join(allowed) or 'none yet'}. Ask an "
                    "Administrator to test this host, or to add it to "
                    "CONNECTIVITY_ALLOWED_HOSTS.",
                )
                return data
        if data.get("protection") == "none" and not validators.is_loopback(host):
            self.add_error(
                "protection",
                "Without STARTTLS or TLS the access token would cross the network in "
                "clear text: None is only for a server on this machine.",
            )
        # The access token goes to this host: the one address policy, and the test connects
        # to exactly the address checked here.
        try:
            data["address"] = addresses.checked_address(host, port)
        except (socket.gaierror, UnicodeError):
            self.add_error("host", f"The host name {host} could not be resolved.")
        except addresses.InternalAddressRefused:
            self.add_error("host", validators.INTERNAL_ADDRESS_MESSAGE.replace("URL", "host"))
        return data

    @staticmethod
    def allowed_hosts(artifact: OAuth2AuthorizationCode) -> list[str]:
        provider = oauthproviders.get(artifact.provider)
        own = list(provider.mail_hosts) if provider else []
        return own + [h for h in settings.CONNECTIVITY_ALLOWED_HOSTS if h not in own]

    @property
    def artifact(self) -> OAuth2AuthorizationCode:
        return self.artifacts[self.cleaned_data["credential_name"]]
