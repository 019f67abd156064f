"""A small client for integrations: access tokens from a Security Material service, and
SMTP and IMAP connections signed in with them (SASL XOAUTH2). Needs only the standard
library: no Django, no requests.

    from smclient import SecurityMaterial

    service = SecurityMaterial("https://security.example.com", api_token="smt_...")
    with service.smtp("M365_Mailer", "smtp.office365.com") as smtp:
        smtp.send_message(message)
    with service.imap("M365_Mailer", "outlook.office365.com") as imap:
        imap.select("INBOX")
"""

from __future__ import annotations

import imaplib
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AccessToken", "SecurityMaterial", "SecurityMaterialError", "xoauth2"]

PROTECTIONS = ("starttls", "tls", "none")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handler copies the Authorization header to wherever a redirect
    points, another host or plain http included: the API token must go nowhere but the
    service, so a redirect is an error the caller sees."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxies from the environment either: the API token goes straight to the service.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _RefuseRedirects)


def _is_loopback(host: str) -> bool:
    return host.lower() in LOOPBACK_HOSTS or host.startswith("127.")


def _protection(protection: str, host: str) -> str:
    """One of PROTECTIONS, or ValueError: an unknown word never means plain text, and plain
    text is only for a server on this machine."""
    if protection not in PROTECTIONS:
        raise ValueError(f"protection must be one of {', '.join(PROTECTIONS)}, not {protection!r}")
    if protection == "none" and not _is_loopback(host):
        raise ValueError("protection='none' sends the token in clear text: only for localhost")
    return protection


class SecurityMaterialError(Exception):
    """The service gave no token. `status` is its HTTP status (409: an admin must act;
    503: try again after `retry_after` seconds); `message` says why in plain words."""

    def __init__(self, message: str, status: int = 0, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    token_type: str
    expires_at: str | None
    scope: str
    user_name: str
    sasl_xoauth2: str = field(repr=False)


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


class SecurityMaterial:
    def __init__(self, base_url: str, api_token: str, *, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"base_url must be an https:// URL, not {base_url!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(
                "base_url must be https:// (http:// only for localhost): the API "
                "token would cross the network in clear text"
            )
        self.base_url = base_url.rstrip("/")
        self._api_token = api_token
        self.timeout = timeout

    def __repr__(self) -> str:  # never the API token
        return f"SecurityMaterial({self.base_url!r})"

    def access_token(
        self, name: str, *, runtime: str = "cloud", min_valid_seconds: int = 300
    ) -> AccessToken:
        """A token valid for at least `min_valid_seconds` (capped by the service)."""
        query = urllib.parse.urlencode({"runtime": runtime, "min_valid_seconds": min_valid_seconds})
        url = (
            f"{self.base_url}/api/v1/security-material/"
            f"{urllib.parse.quote(name, safe='')}/access-token?{query}"
        )
        request = urllib.request.Request(  # noqa: S310 - the admin's own service URL
            url,
            headers={"Authorization": f"Bearer {self._api_token}", "Accept": "application/json"},
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                body: Any = json.load(response)
        except urllib.error.HTTPError as error:
            raise _service_error(error) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SecurityMaterialError(f"The service could not be reached: {error}") from None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(key), str) and body[key]
            for key in ("access_token", "token_type", "sasl_xoauth2")
        ):
            raise SecurityMaterialError("The service's answer holds no access token.")
        fields: dict[str, Any] = {key: body.get(key) for key in AccessToken.__dataclass_fields__}
        return AccessToken(**fields)

    def smtp(
        self,
        name: str,
        host: str,
        port: int = 587,
        *,
        protection: str = "starttls",
        context: ssl.SSLContext | None = None,
    ) -> smtplib.SMTP:
        """An SMTP connection signed in with XOAUTH2 (`protection`: starttls, tls, or none
        for localhost). A server that does not offer STARTTLS is refused, never used in
        clear text."""
        protection = _protection(protection, host)
        token = self.access_token(name)
        if protection == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=self.timeout, context=context or ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if protection == "starttls":
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            smtp_xoauth2(smtp, token.user_name, token.access_token)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def imap(
        self,
        name: str,
        host: str,
        port: int = 993,
        *,
        protection: str = "tls",
        context: ssl.SSLContext | None = None,
    ) -> imaplib.IMAP4:
        """An IMAP connection signed in with XOAUTH2 (`protection`: tls, starttls, or none
        for localhost)."""
        protection = _protection(protection, host)
        token = self.access_token(name)
        if protection == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host,
                port,
                ssl_context=context or ssl.create_default_context(),
                timeout=self.timeout,
            )
        else:
            imap = imaplib.IMAP4(host, port, timeout=self.timeout)
        try:
            if protection == "starttls":
                imap.starttls(ssl_context=context or ssl.create_default_context())
            imap_xoauth2(imap, token.user_name, token.access_token)
        except BaseException:
            imap.shutdown()
            raise
        return imap


def smtp_xoauth2(smtp: smtplib.SMTP, user: str, access_token: str) -> None:
    """AUTH XOAUTH2 with the initial response after the server's 334, not on the AUTH line:
    Microsoft's tokens are 1.5-2.5 KB and some servers cap that line near 1 KiB."""
    smtp.auth("XOAUTH2", _XOAuth2(user, access_token), initial_response_ok=False)


def imap_xoauth2(imap: imaplib.IMAP4, user: str, access_token: str) -> None:
    """AUTHENTICATE XOAUTH2 (RFC 3501 §6.2.2: the response follows the server's "+")."""
    respond = _XOAuth2(user, access_token)
    imap.authenticate("XOAUTH2", lambda challenge: respond(challenge).encode("utf-8"))


class _XOAuth2:
    """The SASL exchange: the XOAUTH2 string first; if the server then sends an error as
    a challenge, an empty answer ends the exchange and the server says no."""

    def __init__(self, user: str, access_token: str) -> None:
        self._initial = xoauth2(user, access_token)
        self._sent = False

    def __repr__(self) -> str:
        return "_XOAuth2()"

    def __call__(self, challenge: bytes | None = None, /) -> str:
        if self._sent:
            return ""
        self._sent = True
        return self._initial


def _service_error(error: urllib.error.HTTPError) -> SecurityMaterialError:
    try:
        detail = str(json.load(error).get("detail", ""))
    except (ValueError, AttributeError, OSError):
        detail = ""
    retry = error.headers.get("Retry-After") if error.headers else None
    return SecurityMaterialError(
        detail or f"The service answered HTTP {error.code}.",
        status=error.code,
        retry_after=int(retry) if retry and retry.isdigit() else None,
    )
