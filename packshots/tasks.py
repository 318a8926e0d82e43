"""Django Tasks: they take ids and call services; the crash policy lives here, at the task boundary.

Repeating any of them is harmless. Each registers with `packshots.queue`, the door services enqueue through.
"""

import contextlib
import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from packshots import queue, services
from packshots.engines.piktid.errors import PiktidError
from packshots.errors import PackshotError

log = logging.getLogger(__name__)


def _internal(step: str, exc: Exception) -> str:
    """What a person reads: the kind of failure, not its internals (those are in the log)."""
    kind = "out of memory" if isinstance(exc, MemoryError) else type(exc).__name__
    return f"Internal error while {step} ({kind}); the details are in the worker's log."


def job_process_or_fail(*, job_id: int, enqueue: bool = True) -> list[int]:
    """Prepare a local job's photos; any crash fails the job visibly, then propagates (the task fails too)."""
    try:
        return services.job_process(job_id=job_id, enqueue=enqueue)
    except Exception as exc:
        log.exception("Job %s failed while preparing", job_id)
        services.job_fail(job_id=job_id, message=_internal("preparing the photos", exc))
        raise


def job_run_here(*, job_id: int) -> None:
    """Run a local job in this process, without a worker (the CLI). Crashes are recorded on the job or the
    output (as in a worker) and read from the job's status by the caller."""
    with contextlib.suppress(Exception):
        for result_id in job_process_or_fail(job_id=job_id, enqueue=False):
            with contextlib.suppress(Exception):
                result_render_or_fail(result_id=result_id)


def result_render_or_fail(*, result_id: int) -> None:
    """Render one output; a crash fails that output visibly, then propagates."""
    try:
        services.result_render(result_id=result_id)
    except Exception as exc:
        log.exception("Result %s failed to render", result_id)
        services.result_fail(result_id=result_id, message=_internal("rendering", exc))
        raise


@queue.register
@task()
def job_process_task(*, job_id: int) -> None:
    job_process_or_fail(job_id=job_id)


@queue.register
@task()
def result_render_task(*, result_id: int) -> None:
    try:
        result_render_or_fail(result_id=result_id)
    finally:
        services.results_dispatch()  # a slot of the fair queue is free: the next output (any team's) goes


def upload_repair_or_fail(*, upload_id: int, keep: list, remove: list, result_ids: list[int]) -> None:
    """Repair a cutout and render its outputs' new versions; a crash fails those versions visibly."""
    try:
        services.upload_repair_run(upload_id=upload_id, keep=keep, remove=remove, result_ids=result_ids)
    except Exception as exc:
        log.exception("Upload %s: cutout repair failed", upload_id)
        message = f"Internal error while repairing the cutout: {exc}"
        for result_id in result_ids:
            services.result_fail(result_id=result_id, message=message)
        raise


@queue.register
@task()
def upload_repair_task(*, upload_id: int, keep: list, remove: list, result_ids: list[int]) -> None:
    upload_repair_or_fail(upload_id=upload_id, keep=keep, remove=remove, result_ids=result_ids)


# ---------------------------------------------------------------- PiktID


def _again(name: str, seconds: float, **kwargs) -> None:
    """Run a task again later without a worker sleeping (the immediate test backend cannot defer)."""
    if queue.supports_later():
        queue.enqueue(name, run_after=timezone.now() + timedelta(seconds=seconds), **kwargs)


def piktid_submit_or_fail(*, job_id: int) -> None:
    try:
        wait = services.piktid_submit(job_id=job_id)
    except Exception as exc:
        log.exception("Job %s failed while submitting to PiktID", job_id)
        # A job whose create request may have left is never failed here (a person could then "Submit
        # again" and pay twice): it stays `submitting` and is reconciled once its lease runs out.
        if not services.job_submission_in_doubt(job_id=job_id):
            services.job_fail(job_id=job_id, message=_internal("submitting to PiktID", exc))
        else:
            _again("piktid_submit_task", 200, job_id=job_id)
        raise
    if wait is not None:
        # 5 creations a minute are shared by every worker using this account: wait outside the worker.
        _again("piktid_submit_task", wait.seconds, job_id=job_id)


@queue.register
@task()
def piktid_submit_task(*, job_id: int) -> None:
    piktid_submit_or_fail(job_id=job_id)


@queue.register
@task()
def piktid_sync_task(*, job_id: int) -> None:
    try:
        services.piktid_sync(job_id=job_id)
    except (PiktidError, PackshotError) as exc:  # the poller catches up later; nothing is lost
        log.warning("Job %s: syncing with PiktID failed: %s", job_id, exc)


@queue.register
@task()
def piktid_poll_task(*, job_id: int) -> None:
    try:
        seconds = services.piktid_poll(job_id=job_id)
    except Exception:  # the chain must not end on a surprise: log it and look again later
        log.exception("Job %s: polling PiktID crashed", job_id)
        seconds = 300.0
    if seconds is not None:
        _again("piktid_poll_task", seconds, job_id=job_id)


@queue.register
@task()
def piktid_recover_task(*, job_id: int) -> None:
    """A PiktID job that stopped moving: submit or reconcile it, or poll it, by where it stands."""
    piktid_submit_or_fail(job_id=job_id)
    piktid_poll_task.call(job_id=job_id)


@queue.register
@task()
def piktid_notification_delete_task(*, team_id: int, notification_id: int) -> None:
    """Delete one handled notification at PiktID (kept for task rows queued before the consume task)."""
    services.piktid_notification_delete(team_id=team_id, notification_id=notification_id)


@queue.register
@task()
def piktid_notifications_consume_task(*, team_id: int, job_id: int) -> None:
    """Delete a job's handled notifications at PiktID, so they are not replayed on the next SSE connection."""
    services.piktid_notifications_consume(team_id=team_id, job_id=job_id)
