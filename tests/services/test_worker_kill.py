"""Real task workers on PostgreSQL: a worker killed mid-task is noticed by another, its work resumed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from packshots import services
from packshots.models import Job, Result
from tests import factories
from tests.services.conftest import DB_TASKS, _forget_task_backends

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def start_worker(worker_id: str, logs: Path, **settings_env: str) -> subprocess.Popen:
    """`manage.py worker` in its own process on the test database; `settings_env`: more variables."""
    db = connection.settings_dict
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",  # the real settings: the database task queue
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PACKSHOT_VAR_DIR": str(settings.VAR_DIR),  # the same media folder as this test
        "PACKSHOT_FIELD_KEYS": ",".join(settings.PACKSHOT_FIELD_KEYS),
        "PACKSHOT_WORKER_DEAD_AFTER_S": "5",
        **settings_env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "worker",
            "--worker-id",
            worker_id,
            "--interval",
            "0.2",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=env,
        stdout=(logs / f"worker-{worker_id}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several worker processes: PostgreSQL")
def test_a_worker_killed_mid_task_is_reaped_by_another_and_no_output_is_lost_or_doubled(
    team, member, tmp_path
):
    from django_tasks_db.models import DBTaskResult

    with override_settings(TASKS=DB_TASKS):
        _forget_task_backends()
        workers = []
        try:
            job = factories.make_draft(
                team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 4}]
            )
            services.job_start(job=job)
            first = start_worker("first", tmp_path)
            workers.append(first)
            # Kill the first worker while it prepares the job's photo (its task row says RUNNING).
            wait_for(
                lambda: DBTaskResult.objects.filter(
                    status="RUNNING", worker_ids__contains=["first"]
                ).exists(),
                60,
                "the first worker to take the job",
            )
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = start_worker("second", tmp_path)
            workers.append(second)
            finished = wait_for(
                lambda: Job.objects.get(pk=job.pk).is_terminal and Job.objects.get(pk=job.pk),
                120,
                "the job to end",
            )
            assert finished.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
            results = Result.objects.filter(job=job)
            assert results.count() == 4 and set(results.values_list("status", flat=True)) == {"completed"}
            assert set(results.values_list("version", flat=True)) == {
                0
            }  # nothing rendered twice as a version
            lost = DBTaskResult.objects.filter(status="FAILED", worker_ids__contains=["first"])
            assert lost.count() == 1 and "WorkerLostError" in lost.get().traceback
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
