"""Races with real transactions and threads: workers finishing outputs together, wizard requests racing."""

import contextlib
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from packshots import imaging, services
from packshots import instructions as schema
from packshots.engines.base import OutputEvent
from packshots.errors import JobStateError, UploadRejectedError
from packshots.models import Job
from packshots.services import drafts as drafts_module
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


# ---------------------------------------------------------------- drafts: one lock discipline (issue 10)


def run_together(*calls):
    """Run each call in its own thread (its own database connection); return each result or exception."""
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            outcomes[index] = call()
        except Exception as exc:  # returned for the test to inspect
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def stored_files() -> set[Path]:
    return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


def fresh(job: Job) -> Job:
    """The job as a request would load it: its own object, read before the service runs."""
    return Job.objects.get(pk=job.pk)


@pytest.mark.django_db(transaction=True)
def test_twelve_parallel_uploads_keep_ten_photos_with_distinct_orders_and_no_stray_file(team, member):
    job = factories.make_draft(team=team, user=member, photos=0)
    before = stored_files()
    barrier = threading.Barrier(12, timeout=10)

    def upload(i):
        mine = fresh(job)
        barrier.wait()  # every request has checked "fewer than 10 photos?" on its own copy by now
        return services.upload_add(job=mine, uploaded_by=member, file=factories.photo_file(f"p{i}.jpg"))

    outcomes = run_together(*(partial(upload, i) for i in range(12)))
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 2, outcomes
    assert all(isinstance(o, UploadRejectedError) and "at most 10 photos" in str(o) for o in refused)
    uploads = list(job.uploads.all())
    assert len(uploads) == 10 and len({u.order for u in uploads}) == 10
    kept = {Path(settings.MEDIA_ROOT) / name for u in uploads for name in (u.file.name, u.thumbnail.name)}
    assert stored_files() - before == kept


@pytest.mark.django_db(transaction=True)
def test_four_concurrent_additions_of_an_instruction_all_land(team, member):
    job = factories.make_draft(team=team, user=member)
    barrier = threading.Barrier(4, timeout=10)

    def add(i):
        mine = fresh(job)
        barrier.wait()  # all four read the job (no instructions yet) before any of them writes
        return services.job_add_instructions(
            job=mine, instructions=[{"style": "free", "background": f"tone {i}"}]
        )

    outcomes = run_together(*(partial(add, i) for i in range(4)))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    job.refresh_from_db()
    assert sorted(i["background"] for i in job.instructions) == ["tone 0", "tone 1", "tone 2", "tone 3"]
    assert job.total_outputs == 4


@pytest.mark.django_db(transaction=True)
def test_start_racing_an_added_instruction_renders_exactly_what_it_announced(team, member, monkeypatch):
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    starting = threading.Event()
    real_errors = drafts_module.job_request_errors

    def slow_check(locked_job):
        starting.set()  # Start holds the job now; let the addition try to slip in
        time.sleep(0.5)
        return real_errors(locked_job)

    monkeypatch.setattr(drafts_module, "job_request_errors", slow_check)

    def add():
        mine = fresh(job)  # loaded while the job was still a draft, like the wizard page did
        assert starting.wait(10)
        more = {**factories.WHITE_CUTOUT, "num_variations": 8}
        return services.job_add_instructions(job=mine, instructions=[more])

    started, added = run_together(lambda: services.job_start(job=fresh(job), enqueue=False), add)
    assert isinstance(started, Job), started
    assert isinstance(added, JobStateError) and "already been started" in str(added)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert schema.total_outputs(job.instructions) == job.total_outputs == started.total_outputs == 1
    assert schema.credit_cost(job.instructions) == job.estimated_credits == started.estimated_credits == 3


@pytest.mark.django_db(transaction=True)
def test_a_photo_finishing_after_start_is_refused_and_leaves_no_file(team, member, monkeypatch):
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    before = stored_files()
    real_thumbnail = imaging.thumbnail

    def thumbnail_while_someone_starts(image):
        # The photo is still being processed when another request starts the job.
        (started,) = run_together(lambda: services.job_start(job=fresh(job), enqueue=False))
        assert isinstance(started, Job), started
        return real_thumbnail(image)

    monkeypatch.setattr(imaging, "thumbnail", thumbnail_while_someone_starts)
    with pytest.raises(UploadRejectedError, match=r"^late\.jpg: This job has already been started"):
        services.upload_add(job=fresh(job), uploaded_by=member, file=factories.photo_file("late.jpg"))
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.uploads.count() == 1
    assert stored_files() == before
