"""Housekeeping for the task queue: release the task rows of workers that died."""

from datetime import timedelta

from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from packshots.errors import WorkerLostError


def task_rows_reap(*, lease: timedelta) -> int:
    """Mark FAILED the task rows RUNNING for longer than the lease; returns how many.

    django-tasks-db has no heartbeat: a worker killed mid-task (SIGKILL, OOM, a second Ctrl-C) leaves its row
    RUNNING forever. The lease must exceed the longest real task. One conditional UPDATE, so a worker that was
    only slow and finishes later still records its own outcome over this one.
    """
    now = timezone.now()
    minutes = int(lease.total_seconds() // 60)
    message = (
        f"WorkerLostError: still running {minutes} min after it started: its worker was killed or crashed; "
        "marked failed by resume_jobs, which also re-enqueues the unfinished work of its job.\n"
    )
    return DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - lease).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=f"{WorkerLostError.__module__}.{WorkerLostError.__qualname__}",
        traceback=message,
        return_value=None,
    )
