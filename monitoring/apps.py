from __future__ import annotations

from typing import Any

from celery.signals import task_postrun, task_prerun
from django.apps import AppConfig
from django.core.signals import request_finished

from monitoring import logcontext


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Failed sign-ins and lockouts are counted in whichever process answers them.
        from monitoring import signin  # noqa: F401 - connects its signal receivers

        # A worker's lines carry the task's id, as a web request's carry the request's
        # (monitoring.middleware begins it).
        task_prerun.connect(_task_started, dispatch_uid="monitoring.task_started", weak=False)
        task_postrun.connect(_ended, dispatch_uid="monitoring.task_ended", weak=False)
        request_finished.connect(_ended, dispatch_uid="monitoring.request_ended", weak=False)


def _task_started(task_id: str = "", **kwargs: Any) -> None:
    logcontext.begin(task_id)


def _ended(**kwargs: Any) -> None:
    logcontext.end()
