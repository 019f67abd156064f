"""A real OAuth 2.0 authorization server for the end-to-end tests: django-oauth-toolkit.

Test-only and separate from the service: its own process, database, users and cookies, as a
provider would be. PKCE is required, refresh tokens rotate and a reused one is rejected.
"""

from __future__ import annotations

import os
from pathlib import Path

from jwcrypto import jwk

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "test-oauth-server-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "tests.oauthserver",
]
MIDDLEWARE = [
    "tests.oauthserver.middleware.token_requests",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.oauthserver.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("OAUTH_SERVER_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_URL = "/accounts/login/"
# Not "sessionid": nothing here may look like the service's cookies.
SESSION_COOKIE_NAME = "provider_session"
CSRF_COOKIE_NAME = "provider_csrftoken"

OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "OAUTH2_VALIDATOR_CLASS": "tests.oauthserver.validators.OneClientAuthMethodValidator",
    "ACCESS_TOKEN_GENERATOR": "tests.oauthserver.tokens.access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": jwk.JWK.generate(kty="RSA", size=2048)
    .export_to_pem(private_key=True, password=None)
    .decode(),
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Know your user name",
        "read": "Read your data",
        "write": "Change your data",
        "offline_access": "Maintain access to data you have given it access to",
        "https://outlook.office.com/SMTP.Send": "Send mail as you",
        "https://outlook.office.com/IMAP.AccessAsUser.All": "Read your mailbox",
    },
}
