"""Rules for the artifact's attributes, in words an admin understands."""

from __future__ import annotations

import re
import unicodedata
from ipaddress import ip_address
from urllib.parse import SplitResult, urlsplit

from django.core.exceptions import ValidationError

from securitymaterial.addresses import resolves_to_refused

NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
# A whole number as people type it here: ASCII digits only (int() also takes "+30", " 30 ",
# "3_0" and digits of other scripts; str.isdigit() takes "²"), and few enough for a column.
DIGITS_RE = re.compile(r"[0-9]{1,9}")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN_RE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TENANT_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"|common|organizations|consumers"
)
# A DNS name (RFC 1123 labels); IP literals are checked with ipaddress.
HOST_NAME_RE = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
LOOPBACK_HOSTS = {"localhost"}
# Bidirectional overrides and isolates: they make text read differently from what it holds.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INTERNAL_ADDRESS_MESSAGE = (
    "This URL points to an internal address (loopback, private network, link-local or "
    "cloud metadata). The service does not send credentials there: "
    "ALLOW_PRIVATE_TOKEN_ENDPOINTS is off."
)


def neutralized(text: str) -> str:
    """Text someone else chose (a provider's error field, an id_token's account, a name from
    a URL path), fit to show and store: without control or direction characters, which
    would forge log lines, break the database (a NUL) or make it read otherwise."""
    return "".join(char for char in text if char.isprintable() and char not in BIDI_CONTROLS)


def validate_name(value: str) -> None:
    if not NAME_RE.fullmatch(value):
        raise ValidationError(
            "Use only letters, digits, underscore (_), hyphen (-) and dot (.); "
            "no spaces or slashes. Integrations find the artifact by this name."
        )
    if not value.strip("."):
        # HTTP clients normalise . and .. away in a path: /security-material/../x
        raise ValidationError(
            "Use at least one letter, digit, underscore or hyphen: a name of dots alone "
            "cannot be used in a URL."
        )


def validate_parameter_key(value: str) -> None:
    if not NAME_RE.fullmatch(value):
        raise ValidationError(
            "Use only letters, digits, underscore (_), hyphen (-) and dot (.) in a key."
        )


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _split_url(value: str) -> SplitResult:
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValidationError(
            "Use only ASCII letters, digits and punctuation, without spaces: percent-encode "
            "other characters and write an international domain name in its xn-- form."
        )
    if "\\" in value:
        raise ValidationError(
            "Remove the backslash (\\): browsers and servers read it differently, so the URL "
            "could lead to another host than it seems to."
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed or out-of-range port
    except ValueError:
        raise ValidationError(
            "Enter a valid URL, for example https://login.example.com/token."
        ) from None
    return parts


def _validate_host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if parts.port == 0:
        raise ValidationError("Enter a port from 1 to 65535, or none for the default.")
    if "[" in parts.netloc:
        try:
            ip_address(host)
            ok = ":" in host
        except ValueError:
            ok = False
        if not ok:
            raise ValidationError("Between [ and ] write an IPv6 address, such as [::1].")
        return host
    if not HOST_NAME_RE.fullmatch(host):
        raise ValidationError(
            f"“{host[:60]}” is not a valid host name: use letters, digits, hyphens and dots."
        )
    return host


def validate_endpoint_url(value: str) -> None:
    """An absolute https URL; http only for this machine (test servers)."""
    parts = _split_url(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValidationError(
            "Enter an absolute URL that starts with https://, for example "
            "https://login.example.com/oauth2/token."
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Remove the user name and password (the part before @) from the URL; enter "
            "credentials in Client ID and Client Secret."
        )
    host = _validate_host(parts)
    if "#" in value:
        raise ValidationError("Remove the fragment (the part after #); servers never receive it.")
    if resolves_to_refused(host, parts.port or (443 if parts.scheme == "https" else 80)):
        raise ValidationError(INTERNAL_ADDRESS_MESSAGE)
    if parts.scheme == "http" and not is_loopback(host):
        raise ValidationError(
            "Use https://. Plain http:// is only allowed for localhost, 127.0.0.1 and [::1]."
        )


def validate_host(value: str) -> str:
    """A host name or IP address (IPv6 in brackets) and nothing else; returns the host as
    a connection takes it (lower case, no brackets)."""
    parts = _split_url(f"https://{value}/")
    if parts.netloc != value or parts.port is not None or "@" in value:
        raise ValidationError("Enter only the host name or IP address, without port or path.")
    return _validate_host(parts)


def endpoint_origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: where a request to this URL goes."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return ("", url, None)
    return (parts.scheme, parts.hostname or "", port)


def validate_scope(value: str) -> None:
    if "," in value:
        raise ValidationError("Separate scopes with spaces, not commas.")
    if CONTROL_RE.search(value):
        raise ValidationError(
            "Scope must not contain tabs, line breaks or other control characters."
        )
    for token in value.split():
        if not SCOPE_TOKEN_RE.fullmatch(token):
            raise ValidationError(
                f"“{token[:60]}” is not a valid scope: use printable ASCII characters other "
                "than quotes and backslashes."
            )


def _character_name(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def _refuse_unreadable(value: str) -> None:
    if "\ufffd" in value:
        raise ValidationError(
            "The value contains bytes that are not valid UTF-8 (shown as �). Type or paste "
            "it again."
        )


def validate_no_control_characters(value: str) -> None:
    """Credentials are sent to the provider as typed: refuse what cannot be seen, such as
    control characters, line or paragraph separators, zero-width characters, direction
    overrides, a byte order mark and non-ASCII spaces."""
    _refuse_unreadable(value)
    for char in value:
        category = unicodedata.category(char)
        if char == "\x00":
            continue  # every form field already says "Null characters are not allowed."
        if category[0] == "C" or (category[0] == "Z" and char != " "):
            raise ValidationError(
                f"Remove the invisible or control character {_character_name(char)}: it "
                "cannot be seen on the page but would be sent to the provider."
            )


def validate_single_word(value: str) -> None:
    validate_no_control_characters(value)
    if " " in value:
        raise ValidationError("Remove the spaces.")


def validate_free_text(value: str) -> None:
    """Descriptions: line breaks and tabs are fine; control characters and direction
    overrides (which make a text read differently from what it holds) are not."""
    _refuse_unreadable(value)
    for char in value:
        if char == "\x00":
            continue  # every form field already says "Null characters are not allowed."
        if char in BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and char not in "\t\n\r"):
            raise ValidationError(f"Remove the control character {_character_name(char)}.")


def validate_tenant(value: str) -> None:
    if not TENANT_RE.fullmatch(value):
        raise ValidationError(
            "Enter the directory (tenant) ID, such as 8eaef023-2b34-4da1-9baa-8bc8c9d6a490, "
            "or a verified domain such as contoso.onmicrosoft.com."
        )
