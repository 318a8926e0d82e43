"""The task-row reaper: rows of a killed worker stop claiming to run, and resume_jobs finishes their jobs."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from packshots import services
from packshots.models import Job
from packshots.services.maintenance import task_rows_reap
from tests import factories


def _claimed(row: DBTaskResult, *, started_ago: timedelta) -> DBTaskResult:
    """What a worker's claim leaves behind: RUNNING since started_ago (then the worker was killed)."""
    row.claim("worker-that-was-killed")
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - started_ago)
    return DBTaskResult.objects.get(pk=row.pk)


@pytest.mark.django_db(transaction=True)  # real commits: the worker closes connections, as in production
def test_resume_jobs_fails_a_dead_workers_task_row_and_finishes_its_job(db_tasks, team, member):
    job = factories.make_draft(
        team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
    )
    services.job_start(job=job)
    dead = _claimed(DBTaskResult.objects.get(), started_ago=timedelta(hours=2))
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))

    out = StringIO()
    call_command("resume_jobs", stdout=out)

    dead.refresh_from_db()
    assert dead.status == "FAILED" and dead.finished_at is not None
    assert dead.exception_class_path == "packshots.errors.WorkerLostError"
    assert "killed or crashed" in dead.traceback
    assert "Released 1 task row(s)" in out.getvalue() and f"Resumed 1 job(s) #{job.pk}" in out.getvalue()
    # The job's work was queued again and a live worker now completes it.
    for _ in range(2):
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert (
        job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
        and job.results.filter(status="completed").count() == 2
    )


@pytest.mark.django_db(transaction=True)
def test_reaper_respects_the_lease_and_leaves_finished_rows_alone(db_tasks, team, member):
    for _ in range(2):
        services.job_start(
            job=factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
        )
    finished, running = (
        _claimed(row, started_ago=timedelta(minutes=20)) for row in DBTaskResult.objects.all()
    )
    DBTaskResult.objects.filter(pk=finished.pk).update(status="SUCCESSFUL", finished_at=timezone.now())

    assert task_rows_reap(lease=timedelta(minutes=30)) == 0  # a slow task, not a dead one
    assert DBTaskResult.objects.get(pk=running.pk).status == "RUNNING"
    call_command("resume_jobs", "--task-lease", "15", stdout=StringIO())
    assert DBTaskResult.objects.get(pk=running.pk).status == "FAILED"
    assert DBTaskResult.objects.get(pk=finished.pk).status == "SUCCESSFUL"
