"""Microsoft 365 (Microsoft identity platform v2.0).

Tenant-specific endpoints; `offline_access` is required for a refresh token; refresh tokens
live 90 days of inactivity; errors carry AADSTS numbers in `error_codes` (hints only:
Microsoft says they may change). Sources:
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow and
https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
"""

from __future__ import annotations

from oauthproviders.base import ErrorClass, Provider

LOGIN_HOST = "https://login.microsoftonline.com"

# AADSTS code → (class, plain words). Source:
# https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
AADSTS: dict[int, tuple[ErrorClass, str]] = {
    70008: (ErrorClass.REAUTHORIZE, "The authorization expired or was revoked."),
    700082: (
        ErrorClass.REAUTHORIZE,
        "The refresh token expired because it was not used for 90 days.",
    ),
    50173: (
        ErrorClass.REAUTHORIZE,
        "The grant was revoked (for example after a password reset by an admin).",
    ),
    70000: (ErrorClass.REAUTHORIZE, "The grant is not valid any more."),
    70043: (
        ErrorClass.REAUTHORIZE,
        "A Conditional Access sign-in frequency policy requires signing in again.",
    ),
    65001: (
        ErrorClass.REAUTHORIZE,
        "The user or an administrator has not consented to the app's permissions.",
    ),
    50076: (ErrorClass.REAUTHORIZE, "Multi-factor authentication is required."),
    50079: (ErrorClass.REAUTHORIZE, "The user must register for multi-factor authentication."),
    50078: (ErrorClass.REAUTHORIZE, "The multi-factor authentication has expired."),
    53003: (ErrorClass.REAUTHORIZE, "Access was blocked by a Conditional Access policy."),
    50057: (ErrorClass.REAUTHORIZE, "The user account is disabled."),
    54005: (ErrorClass.REAUTHORIZE, "This sign-in code was already redeemed."),
    7000215: (
        ErrorClass.CONFIGURATION,
        "The client secret is wrong. Enter the secret's Value from Entra ID, not its Secret ID.",
    ),
    7000222: (
        ErrorClass.CONFIGURATION,
        "The client secret has expired. Create a new one in Entra ID and enter it in "
        "Client Secret.",
    ),
    700016: (
        ErrorClass.CONFIGURATION,
        "The app was not found in the tenant: check Client ID and Tenant.",
    ),
    50011: (ErrorClass.CONFIGURATION, "The Redirect URL is not registered for the app."),
    9002313: (ErrorClass.CONFIGURATION, "Microsoft rejected the request as malformed."),
    90014: (ErrorClass.CONFIGURATION, "A required field is missing from the request."),
    900144: (ErrorClass.CONFIGURATION, "A required body parameter is missing."),
    70011: (ErrorClass.CONFIGURATION, "The Scope is not valid."),
    28000: (ErrorClass.CONFIGURATION, "The Scope spans more than one resource."),
    700022: (ErrorClass.CONFIGURATION, "The Scope spans more than one resource."),
    50194: (
        ErrorClass.CONFIGURATION,
        "The app is registered for one organization: use its tenant, not “common”.",
    ),
    700025: (ErrorClass.CONFIGURATION, "A public client must not send a client secret."),
    50196: (ErrorClass.TRANSIENT, "Too many identical requests; Microsoft paused them."),
}


class Microsoft365(Provider):
    id = "microsoft365"
    label = "Microsoft 365"
    authorization_url_template = LOGIN_HOST + "/{tenant}/oauth2/v2.0/authorize"
    token_url_template = LOGIN_HOST + "/{tenant}/oauth2/v2.0/token"
    needs_tenant = True
    required_scopes = ("offline_access",)
    scope_suggestions = (
        ("https://outlook.office.com/SMTP.Send", "Send mail (SMTP AUTH with XOAUTH2)"),
        ("https://outlook.office.com/IMAP.AccessAsUser.All", "Read mail (IMAP with XOAUTH2)"),
    )
    # Exchange Online (https://support.microsoft.com/en-us/office/pop-imap-and-smtp-settings-
    # 8361e398-8af4-4e97-b147-6c6c4ac95353), and the same hosts of the national clouds: US
    # Government (GCC High, DoD) and China (21Vianet).
    mail_hosts = (
        "smtp.office365.com",
        "outlook.office365.com",
        "smtp.office365.us",
        "outlook.office365.us",
        "outlook-dod.office365.us",
        "smtp.partner.outlook.cn",
        "partner.outlook.cn",
    )
    min_refresh_days = 3
    max_refresh_days = 90
    default_refresh_days = 90
    refresh_days_may_be_blank = False
    scope_words = {
        **Provider.scope_words,
        "SMTP.Send": "send mail as you",
        "IMAP.AccessAsUser.All": "read and manage your mailbox",
        "POP.AccessAsUser.All": "read your mailbox",
        "Mail.Send": "send mail as you",
        "Mail.Read": "read your mail",
        "User.Read": "sign you in and read your profile",
    }
    # form_post would make the callback a cross-site POST without the session cookie.
    authorization_params = {"response_mode": "query"}
    client_id_in_body_with_basic = True
    no_refresh_token_hint = (
        "Microsoft returns one only when the scope includes offline_access and the user "  # noqa: S105
        "consented to it; choose Authorize again."
    )

    @classmethod
    def classify(cls, error: str, error_codes: tuple[int, ...]) -> ErrorClass:
        for code in error_codes:
            if code in AADSTS:
                return AADSTS[code][0]
        return super().classify(error, error_codes)

    @classmethod
    def explain(cls, error: str, error_codes: tuple[int, ...]) -> str:
        for code in error_codes:
            if code in AADSTS:
                return f"{AADSTS[code][1]} (AADSTS{code})"
        return super().explain(error, error_codes)
