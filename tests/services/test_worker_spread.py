"""Real task workers on PostgreSQL: one job's outputs are spread over two workers, each rendered once."""

from collections import Counter

import pytest
from django.db import connection
from django.test import override_settings

from packshots import services
from packshots.models import Job, Result
from tests import factories
from tests.services.conftest import DB_TASKS, _forget_task_backends
from tests.services.test_worker_kill import start_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RENDER = "packshots.tasks.result_render_task"
OUTPUTS = 8


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several worker processes: PostgreSQL")
def test_one_jobs_outputs_are_rendered_by_both_workers_each_exactly_once(team, member, tmp_path):
    from django_tasks_db.models import DBTaskResult

    # The smallest custom size keeps each render short; 8 variations = 8 outputs of one job.
    small = {"style": "white_cutout", "num_variations": OUTPUTS, "options": {"width": 256, "height": 256}}
    with override_settings(TASKS=DB_TASKS):
        _forget_task_backends()
        workers = []
        try:
            job = factories.make_draft(team=team, user=member, instructions=[small])
            # Both workers poll before the job exists, so neither gets a head start on its outputs.
            workers = [start_worker("alpha", tmp_path), start_worker("beta", tmp_path)]
            wait_for(
                lambda: all(
                    "Starting worker" in (tmp_path / f"worker-{w}.log").read_text() for w in ("alpha", "beta")
                ),
                30,
                "both workers to start",
            )
            services.job_start(job=job)
            finished = wait_for(
                lambda: Job.objects.get(pk=job.pk).is_terminal and Job.objects.get(pk=job.pk),
                90,
                "the job to end",
            )
            # The synthetic photo is smaller than the output asks for: flagged for review, still rendered.
            assert finished.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
            results = Result.objects.filter(job=job)
            assert results.count() == OUTPUTS
            assert set(results.values_list("status", flat=True)) == {"completed"}
            assert set(results.values_list("version", flat=True)) == {0}  # none rendered as a 2nd version
            # Which worker ran each output: django-tasks-db records the id of every worker that took a row.
            renders = DBTaskResult.objects.filter(task_path=RENDER)
            # The last output ends the job inside its task; the task row is marked a moment later.
            wait_for(lambda: not renders.filter(status__in=["READY", "RUNNING"]).exists(), 10, "task rows")
            rows = list(renders.values_list("status", "worker_ids", "args_kwargs"))
            assert {status for status, _, _ in rows} == {"SUCCESSFUL"}
            rendered = Counter(args["kwargs"]["result_id"] for _, _, args in rows)
            assert sorted(rendered) == sorted(results.values_list("pk", flat=True))
            assert set(rendered.values()) == {1}  # one render task per output, none twice
            by_worker = Counter(worker_ids[-1] for _, worker_ids, _ in rows)
            assert set(by_worker) == {"alpha", "beta"}, by_worker
        except AssertionError:
            for log in sorted(tmp_path.glob("worker-*.log")):
                print(log.name, log.read_text()[-3000:])  # shown by pytest when the test fails
            raise
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(10)
            _forget_task_backends()
