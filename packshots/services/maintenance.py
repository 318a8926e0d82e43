"""Housekeeping for the task queue: release the task rows of workers that died."""

import logging
from contextlib import suppress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from packshots import queue
from packshots.errors import WorkerLostError
from packshots.models import QueueLock, Result, WorkerHeartbeat
from packshots.services.jobs import result_transition, results_dispatch

log = logging.getLogger(__name__)


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


def worker_heartbeat(*, worker_id: str, host: str, pid: int) -> None:
    """A task worker says it is alive (every few seconds, from its own thread)."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults={"host": host[:200], "pid": pid, "last_seen": timezone.now()}
    )


# The heartbeat id of this process when it is a task worker started by `manage.py worker`, else None.
_this_worker: list[str | None] = [None]


def worker_started(*, worker_id: str, host: str, pid: int) -> None:
    """A task worker's first beat, before it takes any task; from then on this process is that worker."""
    worker_heartbeat(worker_id=worker_id, host=host, pid=pid)
    _this_worker[0] = worker_id


def this_worker() -> str | None:
    """This process's worker id when it reports a heartbeat (what another worker judges it alive by)."""
    return _this_worker[0]


def worker_dead_after() -> timedelta:
    return timedelta(seconds=settings.PACKSHOT_WORKER_DEAD_AFTER_S)


def worker_renew(*, worker_id: str) -> bool:
    """Beat now, unless the worker is already presumed dead (its heartbeat older than the dead-after time).

    False means another worker may at this moment be failing this one's tasks and resuming them: it must not
    start anything it cannot take back (a PiktID create). Call it inside the transaction that records the
    work it guards: the heartbeat row stays locked until that commits.
    """
    now = timezone.now()
    alive = WorkerHeartbeat.objects.filter(worker_id=worker_id, last_seen__gte=now - worker_dead_after())
    return alive.update(last_seen=now) == 1


def worker_last_seen(*, worker_id: str) -> datetime | None:
    """When the worker last said it was alive; None if it has no heartbeat (reaped, or stopped cleanly)."""
    return WorkerHeartbeat.objects.filter(worker_id=worker_id).values_list("last_seen", flat=True).first()


def worker_gone(*, worker_id: str) -> None:
    """A worker that stops cleanly takes its heartbeat with it."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def workers_reap(*, dead_after: timedelta) -> list[str]:
    """Workers silent for longer than `dead_after` are dead: their running tasks fail and their work resumes.

    Unlike the lease of `task_rows_reap`, a heartbeat tells a killed worker from a slow task within seconds.
    Each task row is failed by one conditional UPDATE, so of two reapers only one resumes its work; resuming
    is idempotent anyway (a render's claim is released and the output waits in the fair queue again; any
    other task is sent again as it was: every task of ours is safe to repeat). Returns the dead workers' ids.
    """
    cutoff = timezone.now() - dead_after
    dead = set(WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).values_list("worker_id", flat=True))
    if not dead:
        return []
    message = (
        f"WorkerLostError: its worker stopped reporting for over {dead_after.total_seconds():.0f} s "
        "(killed or crashed); the task's work was resumed.\n"
    )
    for row in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only(
        "pk", "worker_ids", "task_path", "args_kwargs"
    ):
        if not row.worker_ids or row.worker_ids[-1] not in dead:
            continue
        failed = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path=f"{WorkerLostError.__module__}.{WorkerLostError.__qualname__}",
            traceback=message,
        )
        if failed:
            _resume_task(row.task_path.rsplit(".", 1)[-1], (row.args_kwargs or {}).get("kwargs") or {})
    WorkerHeartbeat.objects.filter(worker_id__in=dead, last_seen__lt=cutoff).delete()
    log.warning("Reaped dead task workers: %s", ", ".join(sorted(dead)))
    return sorted(dead)


def _resume_task(name: str, kwargs: dict) -> None:
    if name == "result_render_task" and "result_id" in kwargs:
        result_transition(result_id=kwargs["result_id"], to=Result.Status.PENDING)
        Result.objects.filter(pk=kwargs["result_id"]).update(dispatched_at=None)
        results_dispatch()
    elif queue.is_registered(name):
        queue.enqueue(name, **kwargs)


def chore_due(*, name: str, every: timedelta) -> bool:
    """True for exactly one caller per period across every worker (e.g. the periodic resume of stale jobs)."""
    with suppress(IntegrityError):
        QueueLock.objects.get_or_create(name=name)
    now = timezone.now()
    return (
        QueueLock.objects.filter(name=name)
        .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=now - every))
        .update(last_run_at=now)
        == 1
    )
