"""Django Tasks: thin wrappers that take ids and call one service. Repeating any of them is harmless."""

from django.tasks import task

from packshots import services


@task()
def job_process_task(*, job_id: int) -> None:
    services.job_process_or_fail(job_id=job_id)


@task()
def result_render_task(*, result_id: int) -> None:
    services.result_render_or_fail(result_id=result_id)
