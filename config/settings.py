"""The one settings module. Every value comes from the environment (see README, "Configuration").

Without any environment the service runs on its embedded defaults: SQLite and a generated
encryption key file in var/, and a Celery broker on the file system.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_secret, env_str

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SECURITY_MATERIAL_VAR_DIR", str(BASE_DIR / "var")))


def _private(path: Path, mode: int) -> None:
    """Keys, sessions and the database live here: only this user may read them. The system
    check (securitymaterial.W003) reports what could not be tightened."""
    if path.exists() and path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(mode)


VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
_private(VAR_DIR, 0o700)


def _generated_secret_file(path: Path, make: str, what: str) -> str:
    """Return the content of a 0600 file in var/, creating it on first run (and saying so)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(make + "\n")
    print(f"Generated {what} in {path} (mode 0600). Back it up.", file=sys.stderr)
    return make


DEBUG = env_bool("DJANGO_DEBUG", False)
# Files that hold keys or passwords; the system check warns when others may read them.
SECRET_FILES = [
    Path(path)
    for path in (
        env_str(f"{name}_FILE")
        for name in (
            "DJANGO_SECRET_KEY",
            "SECURITY_MATERIAL_KEYS",
            "ADMIN_PASSWORD",
            "METRICS_TOKEN",
        )
    )
    if path
]
SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or ""
# The first admin's password for `manage.py ensure_admin` (generated and printed if unset).
ADMIN_PASSWORD = env_secret("ADMIN_PASSWORD") or ""
if not SECRET_KEY:
    SECRET_FILES.append(VAR_DIR / "django-secret-key")
    SECRET_KEY = _generated_secret_file(
        SECRET_FILES[-1], secrets.token_urlsafe(50), "a Django secret key"
    )

# The Redirect URL and the allowed hosts come from here, never from the request's Host header.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in {"http", "https"} or not _public.hostname:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be an absolute http(s) URL, not {PUBLIC_BASE_URL!r}."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [_public.hostname, "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]

# Fernet keys: the first encrypts, all decrypt (MultiFernet). Comma-separated.
# Without SECURITY_MATERIAL_KEYS the embedded default keeps one generated key in var/.
_keys = env_secret("SECURITY_MATERIAL_KEYS")
SECURITY_MATERIAL_KEY_FILE: Path | None = None
if _keys is None:
    SECURITY_MATERIAL_KEY_FILE = VAR_DIR / "security-material.keys"
    _keys = _generated_secret_file(
        SECURITY_MATERIAL_KEY_FILE, Fernet.generate_key().decode(), "an encryption key"
    )
SECURITY_MATERIAL_KEYS = [key.strip() for key in _keys.replace("\n", ",").split(",") if key.strip()]

INSTALLED_APPS = [
    "securitymaterial",
    "oauthflows",
    "api",
    "connectivity",
    "monitoring",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
]

MIDDLEWARE = [
    "monitoring.middleware.RequestId",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "securitymaterial.middleware.UnreadableSecretMiddleware",
    "securitymaterial.middleware.AdminInputMiddleware",
    "securitymaterial.middleware.MethodNotAllowedPage",
    "api.middleware.JsonErrors",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out sign-in
]

# Content-Security-Policy: everything from this origin, nothing inline (no 'unsafe-inline'),
# so an injected script or style cannot run. Bootstrap's icons are data: SVGs in its CSS.
# No form-action: Authorize is a form whose answer redirects to the provider, and browsers
# apply form-action to that redirect.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

# Error pages and error mails never show secrets, not even with DEBUG on.
DEFAULT_EXCEPTION_REPORTER = "config.debug.SecretSafeExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.debug.SecretSafeFilter"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        )
    }
except ValueError:  # dj_database_url's UnknownSchemeError among them
    raise ImproperlyConfigured(
        "DATABASE_URL must be a database URL such as postgres://user:password@host:5432/name "
        "or sqlite:////absolute/path.db."
    ) from None
SQLITE_DATABASE: Path | None = None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    SQLITE_DATABASE = Path(DATABASES["default"]["NAME"])
    # SQLite makes the file with the umask's mode (often 0644); it holds session keys.
    # Its journal files take the file's mode.
    if str(SQLITE_DATABASE) != ":memory:" and SQLITE_DATABASE.parent.is_dir():
        if not SQLITE_DATABASE.exists():
            os.close(os.open(SQLITE_DATABASE, os.O_WRONLY | os.O_CREAT, 0o600))
        _private(SQLITE_DATABASE, 0o600)
    # Refreshes serialise on SQLite's write lock; others wait for it rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # A file, not memory: tests that run workers in other processes share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT failed attempts for a user name
# from one address, that pair is locked for LOGIN_LOCKOUT_MINUTES. Staff unlock it earlier by
# deleting the access attempt in the Django admin (Axes > Access attempts).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
# How many proxies in front add themselves to X-Forwarded-For (0: none; the client is
# REMOTE_ADDR). Behind one TLS-terminating proxy, 1: otherwise every client would share
# the proxy's address, and five wrong passwords would lock a user out for everybody.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_FAILURE_LIMIT = "config.signin.failure_limit"
AXES_CLIENT_IP_CALLABLE = "config.signin.client_address"
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "securitymaterial:integrations"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA time zone such as UTC or Europe/Berlin, not {TIME_ZONE[:40]!r}."
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No manifest: pages render without a collectstatic step (tests, runserver).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Behind TLS (PUBLIC_BASE_URL is https) cookies are secure and HSTS is on.
_https = _public.scheme == "https"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _https)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# django_session holds hashes of the session keys, never the keys (the cookies).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Mail for notifications to admins; console backend by default.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "security-material@localhost")

# Celery: Redis in production; the embedded default is a file-system broker in var/.
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if "://" not in CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a broker URL such as redis://host:6379/0 (or filesystem://)."
    )
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is "control" in the current directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "schedule-refreshes": {
        "task": "oauthflows.tasks.schedule_refreshes",
        "schedule": float(env_int("REFRESH_SCHEDULE_SECONDS", 60, minimum=1)),
    }
}
# Redis redelivers a message whose worker vanished after this many seconds (default 1 h).
_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 0, minimum=0)
if _visibility_timeout:
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = _visibility_timeout

# gunicorn's worker timeout (config/gunicorn.py says the same number; a test pins both).
WEB_WORKER_TIMEOUT = 120
# Token endpoints and mail hosts on loopback, private, link-local or metadata addresses:
# refused unless allowed, whatever PUBLIC_BASE_URL says (securitymaterial.addresses). The
# embedded `make run` allows loopback alone, for servers on the same machine, and says so.
ALLOW_PRIVATE_TOKEN_ENDPOINTS = env_bool("ALLOW_PRIVATE_TOKEN_ENDPOINTS", False)
ALLOW_LOOPBACK_TOKEN_ENDPOINTS = env_bool("ALLOW_LOOPBACK_TOKEN_ENDPOINTS", False)
# Mail hosts an Operator may run Connectivity Tests against besides the provider's own
# (Administrators may test any host the address policy allows).
CONNECTIVITY_ALLOWED_HOSTS = [host.lower() for host in env_list("CONNECTIVITY_ALLOWED_HOSTS")]
# The whole of one token request, from connect to the last byte of the answer.
TOKEN_REQUEST_TIMEOUT = env_int("TOKEN_REQUEST_TIMEOUT_SECONDS", 25, minimum=1)

# The refresh policy (README, "Keeping credentials alive").
ACCESS_TOKEN_REFRESH_MARGIN = env_int("ACCESS_TOKEN_REFRESH_MARGIN_SECONDS", 300, minimum=30)
ACCESS_TOKEN_IN_USE_HOURS = env_int("ACCESS_TOKEN_IN_USE_HOURS", 24, minimum=1)
REFRESH_TOKEN_RENEWAL_FRACTION = env_float(
    "REFRESH_TOKEN_RENEWAL_FRACTION", 0.5, minimum=0.05, maximum=0.9
)
REFRESH_TOKEN_LATEST_DAYS_BEFORE_EXPIRY = env_int(
    "REFRESH_TOKEN_LATEST_DAYS_BEFORE_EXPIRY", 2, minimum=1
)
REFRESH_RETRY_BASE_SECONDS = env_int("REFRESH_RETRY_BASE_SECONDS", 60, minimum=5)
REFRESH_RETRY_MAX_SECONDS = env_int("REFRESH_RETRY_MAX_SECONDS", 3600, minimum=60)
# Tell the admins once when retrying has gone on this long.
REFRESH_ALERT_AFTER_HOURS = env_int("REFRESH_ALERT_AFTER_HOURS", 24, minimum=1)
# When the database goes away after the provider rotated a refresh token, how long the
# refresh keeps trying to store the new one (a restart or failover takes seconds).
REFRESH_STORE_RETRY_SECONDS = env_int("REFRESH_STORE_RETRY_SECONDS", 60, minimum=1)
# A consumer's use of an artifact ("last used", the "Issued to" audit row) is written by a
# thread of the web process this many seconds later, with the others of that second
# (securitymaterial.usage); 0 writes it in the request.
USE_RECORD_DELAY_SECONDS = env_float("USE_RECORD_DELAY_SECONDS", 1.0, minimum=0, maximum=60)
# The token API gives an answer again from its process's memory for at most this long,
# while nothing it depends on changed (api.answers: a change takes effect within 1 s on
# every process, whatever this says); 0 turns it off.
TOKEN_ANSWER_CACHE_SECONDS = env_float("TOKEN_ANSWER_CACHE_SECONDS", 60, minimum=0, maximum=3600)
# A consent link (oauthflows.consent) works this many hours, once.
CONSENT_LINK_HOURS = env_int("CONSENT_LINK_HOURS", 24, minimum=1)
# Requests a minute one address may make to the owner's pages (per web process).
CONSENT_PAGES_PER_MINUTE = env_int("CONSENT_PAGES_PER_MINUTE", 30, minimum=1)
# Beat hands an artifact out again while its task may still be queued only if no worker
# has started any task for this long (the workers were down, or the broker lost its queue):
# oauthflows.refresh.dispatch_due.
REFRESH_DISPATCH_LEASE_SECONDS = env_int("REFRESH_DISPATCH_LEASE_SECONDS", 300, minimum=5)

# /metrics (monitoring): scraped with "Authorization: Bearer <METRICS_TOKEN>"; refused
# while it is unset. The counters of every process on this machine (web workers, Celery
# workers, beat) are files in PROMETHEUS_MULTIPROC_DIR, which they must share; prometheus-
# client reads the variable from the environment, so it is set there for them all.
METRICS_TOKEN = env_secret("METRICS_TOKEN") or ""
if METRICS_TOKEN and not re.fullmatch(r"[\x21-\x7e]{16,}", METRICS_TOKEN):
    raise ImproperlyConfigured(
        "METRICS_TOKEN must be at least 16 visible ASCII characters (no spaces): "
        "scripts/make-compose-env makes one."
    )
METRICS_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics")))
try:
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={METRICS_DIR} cannot be made: {exc.strerror}."
    ) from None
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL[:40]!r}."
    )
# plain: one readable line; json: one JSON object per line, for log collectors.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT[:40]!r}.")
# Celery sets up its own log format in workers and beat unless told not to: with JSON logs,
# they use this configuration too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    # A client's error is one WARNING line; only a fault of the service is an ERROR with its
    # traceback, and mailed (config.logs).
    "filters": {
        "client_errors_in_one_line": {"()": "config.logs.ClientErrorsInOneLine"},
        "server_faults_only": {"()": "config.logs.ServerFaultsOnly"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["client_errors_in_one_line"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "server_faults_only"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # Their DEBUG output prints request bodies and tokens.
        "oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
