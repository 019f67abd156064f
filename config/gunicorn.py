"""Gunicorn settings for every way the service is run (scripts/run, Dockerfile, compose):
gunicorn --config python:config.gunicorn ...

The access log shows the path without its query string and no Referer: the Redirect URL's
query holds the authorization code and state, and a page shown at the Redirect URL sends
that whole URL as the Referer of the stylesheets it loads.
"""

import os
import sys

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

# Above every deadline a request can meet (checked at start-up, securitymaterial.E004): a
# consumer's refresh (TOKEN_REQUEST_TIMEOUT_SECONDS, 25) whose commit meets a database
# outage keeps the rotated refresh token in memory and retries storing it for
# REFRESH_STORE_RETRY_SECONDS (60). Gunicorn's default of 30 s killed the worker in the
# middle of that, and the new refresh token was lost (docs/security.md).
timeout = 120
graceful_timeout = 120

accesslog = "-"
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms %({x-request-id}o)s'
)


class JsonLogger(Logger):
    """LOG_FORMAT=json: gunicorn's own lines and the access lines as JSON objects too."""

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        from config.logs import JsonFormatter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logger_class = JsonLogger


def worker_exit(server: object, worker: object) -> None:
    """A worker that stops cleanly first writes the uses its thread still holds (none if it
    never recorded one, or never loaded the app)."""
    usage = sys.modules.get("securitymaterial.usage")
    if usage is not None:
        usage.flush()
