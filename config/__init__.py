"""The project: settings, environment helpers, the URL root, the Celery app, wsgi, the
gunicorn configuration, error reports, logs, sessions and sign-in. No app imports it; apps
read settings through django.conf.settings."""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
