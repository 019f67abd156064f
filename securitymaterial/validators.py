"""Rules for the artifact's attributes, in words an admin understands."""

from __future__ import annotations

import re
from ipaddress import ip_address
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TENANT_RE = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"|common|organizations|consumers)$"
)
LOOPBACK_HOSTS = {"localhost"}


def validate_name(value: str) -> None:
    if not NAME_RE.match(value):
        raise ValidationError(
            "Use only letters, digits, underscore (_), hyphen (-) and dot (.); "
            "no spaces or slashes. Integrations find the artifact by this name."
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def validate_endpoint_url(value: str) -> None:
    """An absolute https URL; http only for this machine (test servers)."""
    if CONTROL_RE.search(value) or " " in value:
        raise ValidationError("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValidationError(
            "Enter a valid URL, for example https://login.example.com/token."
        ) from None
    if parts.scheme not in {"http", "https"} or not host:
        raise ValidationError(
            "Enter an absolute URL that starts with https://, for example "
            "https://login.example.com/oauth2/token."
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValidationError(
            "Use https://. Plain http:// is only allowed for localhost, 127.0.0.1 and [::1]."
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Remove the user name and password from the URL; enter credentials in "
            "Client ID and Client Secret."
        )
    if "#" in value:
        raise ValidationError("Remove the fragment (the part after #); servers never receive it.")


def validate_scope(value: str) -> None:
    if "," in value:
        raise ValidationError("Separate scopes with spaces, not commas.")
    if CONTROL_RE.search(value):
        raise ValidationError(
            "Scope must not contain tabs, line breaks or other control characters."
        )
    for token in value.split():
        if not SCOPE_TOKEN_RE.match(token):
            raise ValidationError(
                f"“{token[:60]}” is not a valid scope: use printable characters other than "
                "quotes and backslashes."
            )


def validate_no_control_characters(value: str) -> None:
    if CONTROL_RE.search(value):
        raise ValidationError("Remove line breaks, tabs and other control characters.")


def validate_single_word(value: str) -> None:
    validate_no_control_characters(value)
    if " " in value:
        raise ValidationError("Remove the spaces.")


def validate_tenant(value: str) -> None:
    if not TENANT_RE.match(value):
        raise ValidationError(
            "Enter the directory (tenant) ID, such as 8eaef023-2b34-4da1-9baa-8bc8c9d6a490, "
            "or a verified domain such as contoso.onmicrosoft.com."
        )
