"""Real task workers on PostgreSQL against the fake PiktID server: a worker SIGKILLed while it sends a job's
create request is reconciled once its heartbeat says it is dead and PiktID's time to answer has passed
(CREATE_ANSWER_WINDOW, not SUBMIT_LEASE), with one PiktID job in the end; a live worker's create request is
never reconciled under its feet."""

import signal
import time

import pytest
from django.db import connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from packshots import queue, services
from packshots.models import Job
from packshots.services.piktid import CREATE_ANSWER_WINDOW, SUBMIT_LEASE
from tests.piktid.fixtures import FAKE_TOKEN
from tests.services.conftest import DB_TASKS, _forget_task_backends
from tests.services.test_piktid_jobs import piktid_draft
from tests.services.test_worker_kill import start_worker, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several worker processes: PostgreSQL"),
]

DEAD_AFTER_S = 10  # the workers beat every 5 s: 10 s of silence never happens to a live one
SUBMIT = "packshots.tasks.piktid_submit_task"
ONE_OUTPUT = [{"style": "ghost_mannequin", "options": {"size": "1K", "ar": "3:4", "format": "jpg"}}]


@pytest.fixture
def workers(fake_piktid, settings, tmp_path):
    """Start `manage.py worker` processes by id (same database, media and PiktID as the test)."""
    settings.PIKTID_TOKEN = FAKE_TOKEN
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = DEAD_AFTER_S
    env = {
        "PIKTID_TOKEN": FAKE_TOKEN,
        "PIKTID_BASE_URL": fake_piktid.base_url,
        "PACKSHOT_WORKER_DEAD_AFTER_S": str(DEAD_AFTER_S),
    }
    started = {}

    def start(*ids: str) -> None:
        for worker_id in ids:
            started[worker_id] = start_worker(worker_id, tmp_path, **env)
        wait_for(
            lambda: all("Starting worker" in (tmp_path / f"worker-{w}.log").read_text() for w in ids),
            30,
            "the workers to start",
        )

    with override_settings(TASKS=DB_TASKS):
        _forget_task_backends()
        try:
            yield start, started
        finally:
            for worker in started.values():
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(10)
            _forget_task_backends()
            for log in sorted(tmp_path.glob("worker-*.log")):
                print(log.name, log.read_text()[-4000:])  # shown by pytest when the test fails


def test_a_job_whose_sending_worker_was_killed_is_reconciled_early_and_made_once(
    team, member, fake_piktid, workers
):
    start, started = workers
    # PiktID takes 25 s (within the client's 30 s read timeout) to make the job, and the worker is killed a
    # second after its request arrived: the job appears in PiktID's gallery only 24 s after the kill.
    fake_piktid.delay_next("POST", "/create-packshot", 25, after=False)
    job = piktid_draft(team, member, photos=1, instructions=ONE_OUTPUT)
    start("alpha")
    services.job_start(job=job)
    wait_for(lambda: fake_piktid.count("POST", "/create-packshot") >= 1, 60, "the create request")
    time.sleep(1)
    sent = Job.objects.get(pk=job.pk)
    assert sent.status == Job.Status.SUBMITTING and sent.submit_worker_id == "alpha"
    started["alpha"].send_signal(signal.SIGKILL)
    started["alpha"].wait(10)
    killed = time.monotonic()
    start("beta")
    running = wait_for(
        lambda: (j := Job.objects.get(pk=job.pk)).status != Job.Status.SUBMITTING and j,
        SUBMIT_LEASE.total_seconds() - 30,
        "the job to be reconciled",
    )
    after = time.monotonic() - killed
    print(f"reconciled {after:.1f} s after the kill (dead after {DEAD_AFTER_S} s, lease {SUBMIT_LEASE})")
    # Not before CREATE_ANSWER_WINDOW (45 s) from the request, then a worker's poll: well under the lease.
    assert CREATE_ANSWER_WINDOW.total_seconds() - 5 < after < CREATE_ANSWER_WINDOW.total_seconds() + 20
    assert running.status in (Job.Status.RUNNING, Job.Status.COMPLETED)
    assert list(fake_piktid.jobs) == [running.remote_job_id]  # adopted from the gallery
    assert len(fake_piktid.creations()) == 1  # never sent again: one charge
    lost = DBTaskResult.objects.filter(task_path=SUBMIT, status="FAILED", worker_ids__contains=["alpha"])
    assert "WorkerLostError" in lost.get().traceback
    done = wait_for(lambda: (j := Job.objects.get(pk=job.pk)).is_terminal and j, 60, "the job to end")
    assert done.status == Job.Status.COMPLETED and len(fake_piktid.creations()) == 1


def test_a_live_workers_create_request_is_not_taken_from_it(team, member, fake_piktid, workers):
    start, _ = workers
    # A slow answer (within the client's 30 s read timeout): the sender waits for it, beating meanwhile.
    fake_piktid.delay_next("POST", "/create-packshot", 25, after=True)
    job = piktid_draft(team, member, photos=1, instructions=ONE_OUTPUT)
    start("alpha", "beta")
    services.job_start(job=job)
    wait_for(lambda: fake_piktid.jobs, 60, "PiktID to make the job")
    sender = Job.objects.get(pk=job.pk).submit_worker_id
    assert sender in ("alpha", "beta")
    time.sleep(DEAD_AFTER_S + 2)  # longer than a dead worker's silence; at least one reap has run since
    # A second submit task for the job (a twin, or the periodic resume) runs on the other worker meanwhile.
    with_twin = time.monotonic()
    before = set(DBTaskResult.objects.values_list("pk", flat=True))
    queue.enqueue("piktid_submit_task", job_id=job.pk)
    twin = DBTaskResult.objects.filter(task_path=SUBMIT).exclude(pk__in=before).order_by("enqueued_at")
    wait_for(lambda: twin.first().status == "SUCCESSFUL", 20, "the twin submit task to run")
    assert twin.first().worker_ids[-1] != sender
    later = twin.filter(status="READY").get()  # it asks to run again once the lease has run out
    assert later.run_after.timestamp() > time.time() + SUBMIT_LEASE.total_seconds() - 40
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUBMITTING  # left to its sender
    running = wait_for(
        lambda: (j := Job.objects.get(pk=job.pk)).status != Job.Status.SUBMITTING and j, 30, "the answer"
    )
    assert time.monotonic() - with_twin < 30
    assert running.status in (Job.Status.RUNNING, Job.Status.COMPLETED)
    assert list(fake_piktid.jobs) == [running.remote_job_id]
    assert len(fake_piktid.creations()) == 1 and fake_piktid.count("GET", "/gallery/by-job") == 0
    assert not DBTaskResult.objects.filter(status="FAILED").exists()  # no worker was reaped
