"""The API's operations, mounted in one place: the consumer endpoints and the management
API, each a router of its own on the one API object (api.base)."""

from __future__ import annotations

from api import consumer, manage
from api.base import api

api.add_router("", consumer.router)
api.add_router("/manage", manage.router)

__all__ = ["api"]
