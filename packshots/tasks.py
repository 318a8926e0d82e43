"""Django Tasks: thin wrappers that take ids and call one service. Repeating any of them is harmless."""

import logging

from django.tasks import task

from packshots import services

log = logging.getLogger(__name__)


@task()
def job_process_task(*, job_id: int) -> None:
    try:
        services.job_process(job_id=job_id)
    except Exception as exc:
        # The task boundary is the one place that catches everything: the job fails visibly.
        log.exception("Job %s failed while preparing", job_id)
        services.job_fail(job_id=job_id, message=f"Internal error while preparing the photos: {exc}")
        raise


@task()
def result_render_task(*, result_id: int) -> None:
    try:
        services.result_render(result_id=result_id)
    except Exception as exc:
        log.exception("Result %s failed to render", result_id)
        services.result_fail(result_id=result_id, message=f"Internal error while rendering: {exc}")
        raise
