"""The fair queue (outputs handed to workers a few at a time per team) and the reaper of dead workers."""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus, default_task_backend
from django.test import TestCase, override_settings
from django.utils import timezone

from packshots import services
from packshots.models import Job, Result, WorkerHeartbeat
from tests import factories
from tests.services.conftest import _forget_task_backends

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def recorded_tasks():
    """Tasks are recorded, not run: the test sees exactly what was handed to the queue, in order."""
    with override_settings(TASKS=DUMMY_TASKS):
        _forget_task_backends()
        yield lambda: [
            r.kwargs.get("result_id")
            for r in default_task_backend.results
            if r.task.name == "result_render_task"
        ]
    _forget_task_backends()


def running_job(team, outputs: int) -> Job:
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=outputs)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now())
    return job


def test_a_big_job_does_not_hold_the_queue_against_another_teams_job(
    recorded_tasks, team, member, other_team, outsider, settings
):
    settings.PACKSHOT_TEAM_CONCURRENT_OUTPUTS = 2
    big = running_job(team, 6)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.results_dispatch() == 2
    small = running_job(other_team, 1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.results_dispatch() == 1  # the other team's output goes now, not after 6
    sent = recorded_tasks()
    assert sent[-1] == small.results.get().pk and len(sent) == 3
    # One of the big job's outputs finishes: its next output is handed over, never more than 2 at once.
    first = big.results.get(pk=sent[0])
    Result.objects.filter(pk=first.pk).update(status=Result.Status.COMPLETED)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.results_dispatch() == 1
    assert services.results_dispatch() == 0


def test_the_jobs_of_one_team_take_turns(recorded_tasks, team, member, settings):
    settings.PACKSHOT_TEAM_CONCURRENT_OUTPUTS = 4
    first, second = running_job(team, 3), running_job(team, 3)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.results_dispatch()
    jobs = [Result.objects.get(pk=pk).job_id for pk in recorded_tasks()]
    assert jobs == [first.pk, second.pk, first.pk, second.pk]


def test_a_local_job_over_the_pixel_limit_cannot_start(team, member, settings):
    settings.PACKSHOT_MAX_JOB_MEGAPIXELS = 100
    huge = {"style": "white_cutout", "num_variations": 8, "options": {"width": 7000, "height": 7000}}
    job = factories.make_draft(team=team, user=member, instructions=[huge])
    errors = services.job_request_errors(job)
    assert "392 megapixels" in errors["instructions"][0] and "at most 100" in errors["instructions"][0]


def test_a_dead_workers_render_is_released_and_handed_over_again(recorded_tasks, team, member, settings):
    from django_tasks_db.models import DBTaskResult

    job = running_job(team, 1)
    result = job.results.get()
    Result.objects.filter(pk=result.pk).update(status=Result.Status.PROCESSING, dispatched_at=timezone.now())
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(worker_id="killed", last_seen=long_ago)
    WorkerHeartbeat.objects.create(worker_id="alive")
    row = DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        started_at=long_ago,
        args_kwargs={"args": [], "kwargs": {"result_id": result.pk}},
        task_path="packshots.tasks.result_render_task",
        worker_ids=["killed"],
        backend_name="default",
        run_after=long_ago,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.workers_reap(dead_after=timedelta(seconds=30)) == ["killed"]
    row.refresh_from_db()
    result.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED and "WorkerLostError" in row.traceback
    assert result.status == Result.Status.PENDING and recorded_tasks() == [result.pk]
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.workers_reap(dead_after=timedelta(seconds=30)) == []  # nothing twice


def test_a_queued_job_says_how_many_tasks_are_ahead_and_whether_a_worker_runs(team, member, member_client):
    from tests.services.conftest import DB_TASKS

    with override_settings(TASKS=DB_TASKS):
        _forget_task_backends()
        try:
            first = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
            second = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
            with TestCase.captureOnCommitCallbacks(execute=True):
                services.job_start(job=first)
                services.job_start(job=second)
            page = member_client.get(second.get_absolute_url()).content.decode()
            assert "No task worker has reported" in page
            WorkerHeartbeat.objects.create(worker_id="w1")
            page = member_client.get(second.get_absolute_url()).content.decode()
            assert "In the queue: 1 task ahead of this job, 1 worker running" in page
        finally:
            _forget_task_backends()
