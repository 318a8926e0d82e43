"""Two workers finishing a job's last outputs at the same moment (real transactions, real threads)."""

import contextlib
import threading

import pytest
from django.db import connection

from packshots import services
from packshots.engines.base import OutputEvent
from packshots.models import Job
from packshots.services import jobs as jobs_module
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_outputs_finishing_together_still_complete_the_job(team, member, monkeypatch):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    results = list(job.results.order_by("variation_index"))
    # Hold each worker just before it counts the finished outputs, so both would count together if they could.
    barrier = threading.Barrier(2, timeout=2)
    real_refresh = jobs_module._job_refresh_progress

    def refresh_after_meeting(job):
        # A broken barrier means the other worker is waiting for our lock: exactly what the fix is for.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        real_refresh(job)

    monkeypatch.setattr(jobs_module, "_job_refresh_progress", refresh_after_meeting)
    errors = []

    def worker(result):
        try:
            services.engine_event_apply(
                source="local",
                event_id=f"done-{result.pk}",
                job_id=job.pk,
                output=OutputEvent(
                    0, result.variation_index, 0, "completed", image="a.jpg", thumbnail="b.jpg"
                ),
            )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.progress == 100
