"""Django Tasks: they take ids and call services; the crash policy lives here, at the task boundary.

Repeating any of them is harmless. Each registers with `packshots.queue`, the door services enqueue through.
"""

import logging

from django.tasks import task

from packshots import queue, services

log = logging.getLogger(__name__)


def job_process_or_fail(*, job_id: int, enqueue: bool = True) -> list[int]:
    """Prepare a local job's photos; any crash fails the job visibly, then propagates (the task fails too)."""
    try:
        return services.job_process(job_id=job_id, enqueue=enqueue)
    except Exception as exc:
        log.exception("Job %s failed while preparing", job_id)
        services.job_fail(job_id=job_id, message=f"Internal error while preparing the photos: {exc}")
        raise


def result_render_or_fail(*, result_id: int) -> None:
    """Render one output; a crash fails that output visibly, then propagates."""
    try:
        services.result_render(result_id=result_id)
    except Exception as exc:
        log.exception("Result %s failed to render", result_id)
        services.result_fail(result_id=result_id, message=f"Internal error while rendering: {exc}")
        raise


@queue.register
@task()
def job_process_task(*, job_id: int) -> None:
    job_process_or_fail(job_id=job_id)


@queue.register
@task()
def result_render_task(*, result_id: int) -> None:
    result_render_or_fail(result_id=result_id)
