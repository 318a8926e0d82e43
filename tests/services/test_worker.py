"""The real database task backend and its worker, not the immediate backend the other tests use."""

import pytest
from django.core.management import call_command

from packshots import services
from packshots.models import Job
from tests import factories
from tests.services.conftest import DB_TASKS, _forget_task_backends  # noqa: F401 (used by other tests)


@pytest.mark.django_db(transaction=True)  # real commits: the worker closes connections, as in production
def test_db_worker_runs_a_queued_job_to_completion(db_tasks, team, member):
    from django_tasks_db.models import DBTaskResult

    job = factories.make_draft(
        team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
    )
    services.job_start(job=job)
    assert DBTaskResult.objects.count() == 1  # queued in the database, nothing ran yet
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    # The job task queues one render task per output; a second pass catches any queued after the first ended.
    for _ in range(2):
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert job.status in (
        Job.Status.COMPLETED,
        Job.Status.NEEDS_REVIEW,
    )  # the small test photo may be flagged
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 3
