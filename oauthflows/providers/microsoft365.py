"""Microsoft 365 (Microsoft identity platform v2.0).

See shared/reference/oauth-and-microsoft-identity.md §1: tenant-specific endpoints,
`offline_access` is required for a refresh token, refresh tokens live 90 days of inactivity.
"""

from __future__ import annotations

from oauthflows.providers.base import Provider

LOGIN_HOST = "https://login.microsoftonline.com"


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
    min_refresh_days = 3
    max_refresh_days = 90
    default_refresh_days = 90
    refresh_days_may_be_blank = False
