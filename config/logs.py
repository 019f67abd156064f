"""Log records of requests at the level the event deserves, one line each.

Django logs every 4xx with a traceback (WARNING; a SuspiciousOperation such as a body too
large at ERROR, under django.security.*), and every designed 503 at ERROR: a client could
fill the error log without any fault of the service. Here a client's error is one WARNING
line, a designed 503 one WARNING line, and only a real fault (a 500) stays an ERROR with
its traceback, mailed to ADMINS.
"""

from __future__ import annotations

import json
import logging

from monitoring import logcontext

DESIGNED_STATUSES = {503}  # the provider cannot be reached, or a key is missing: said so


def _clients_fault(record: logging.LogRecord) -> bool:
    status = getattr(record, "status_code", None)
    if isinstance(status, int):
        return 400 <= status < 500 or status in DESIGNED_STATUSES
    return record.name.startswith("django.security.")


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object per line (time, level, logger, message; the request
    or Celery task id, the artifact's runtime and name where known (monitoring.logcontext);
    the request's method, path and status where Django gave them; an exception's traceback
    as one field). The message is formatted as in the plain format, so the same rules keep
    secrets out of it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id := logcontext.request_id():
            entry["request_id"] = request_id
        if about := logcontext.artifact():
            entry["runtime"], entry["artifact"] = about
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            entry["method"], entry["path"] = request.method, request.path
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ClientErrorsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _clients_fault(record):
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class ServerFaultsOnly(logging.Filter):
    """For the error mail: a client's error is nobody's emergency."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _clients_fault(record)
