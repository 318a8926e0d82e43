"""Batches through the services: ZIP checked in a task, one job per SKU, retry, the batch ZIP, budgets."""

import contextlib
import io
import zipfile

import pytest
from django.test import TestCase

from batches import services
from batches.models import Batch, Sku
from packshots.errors import PackshotError
from packshots.models import Job
from tests.batches.conftest import CUTOUT, photo, start, zip_batch


def test_a_zip_of_sku_folders_becomes_one_checked_draft_job_per_sku(team, member, three_skus):
    batch = zip_batch(team, member, three_skus)
    assert batch.status == Batch.Status.READY and batch.error == ""
    skus = {s.name: s for s in batch.skus.select_related("job")}
    assert sorted(skus) == ["SKU-1", "SKU-2", "SKU-3"]
    assert skus["SKU-1"].job.uploads.count() == 2 and skus["SKU-1"].job.status == Job.Status.DRAFT
    assert batch.photo_count == 4 and not batch.archive.name  # the raw ZIP is gone once checked


def test_starting_runs_every_sku_on_the_engine_and_the_batch_zip_names_outputs_by_template(
    team, member, three_skus
):
    batch = start(zip_batch(team, member, three_skus))
    assert batch.status == Batch.Status.RUNNING
    jobs = [s.job for s in batch.skus.select_related("job")]
    assert all(j.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW) for j in jobs)
    assert {j.engine for j in jobs} == {"local"}
    data = b"".join(services.batch_zip_stream(batch))
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == [
        "SKU-1/SKU-1_white_cutout_1.jpg",
        "SKU-2/SKU-2_white_cutout_1.jpg",
        "SKU-3/SKU-3_white_cutout_1.jpg",
        "batch.json",
    ]


def test_a_sku_with_more_than_ten_photos_uses_the_first_ten_with_a_warning(team, member):
    entries = {f"BIG/{i:02d}.jpg": photo() for i in range(12)}
    batch = zip_batch(team, member, entries)
    sku = batch.skus.get()
    assert sku.job.uploads.count() == 10
    assert "used the first 10" in sku.warnings[0]
    assert {r["path"] for r in batch.report} == {"BIG/10.jpg", "BIG/11.jpg"}


def test_a_file_that_is_no_photo_does_not_take_one_of_the_ten_places(team, member):
    entries = {f"BIG/{i:02d}.jpg": photo() for i in range(11)}
    entries["BIG/00.jpg"] = b"not a photo"
    batch = zip_batch(team, member, entries)
    sku = batch.skus.get()
    assert sku.job.uploads.count() == 10 and sku.warnings == []
    assert [r["path"] for r in batch.report] == ["BIG/00.jpg"]


def test_files_named_by_sku_are_grouped_by_the_pattern(team, member):
    entries = {
        "A100_front.jpg": photo(),
        "A100_back.jpg": photo(),
        "B200_front.jpg": photo(),
        "x.jpg": photo(),
    }
    batch = zip_batch(team, member, entries, pattern="{sku}_{anything}.jpg")
    assert sorted(batch.skus.values_list("name", flat=True)) == ["A100", "B200"]
    assert batch.report == [
        {"path": "x.jpg", "message": "the name does not match the pattern {sku}_{anything}.jpg"}
    ]


def test_a_failed_sku_is_retried_with_a_new_job_from_the_same_photos(team, member, three_skus, monkeypatch):
    batch = zip_batch(team, member, three_skus)
    from packshots.services import jobs as job_services

    real = job_services.job_process

    def fail_sku_2(*, job_id, **kwargs):
        if Sku.objects.get(job_id=job_id).name == "SKU-2":
            raise RuntimeError("engine crashed")
        return real(job_id=job_id, **kwargs)

    monkeypatch.setattr("packshots.services.job_process", fail_sku_2)
    with contextlib.suppress(RuntimeError):  # the immediate backend re-raises the task's crash
        batch = start(batch)
    batch.refresh_from_db()
    failed = batch.skus.get(name="SKU-2")
    assert failed.job.status == Job.Status.FAILED
    monkeypatch.setattr("packshots.services.job_process", real)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.batch_retry_failed(batch=batch, author=member) == 1
    failed.refresh_from_db()
    assert failed.job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
    assert failed.job.uploads.count() == 1 and failed.attempts == 2


def test_a_sku_folder_without_any_photo_is_rejected_and_named(team, member):
    batch = zip_batch(
        team, member, {"GOOD/a.jpg": photo(), "BAD/notes.txt": b"hello", "BAD/x.jpg": b"\xff\xd8junk"}
    )
    bad = batch.skus.get(name="BAD")
    assert bad.status == Sku.Status.REJECTED and bad.job is None
    messages = {r["path"]: r["message"] for r in batch.report}
    assert "not an image" in messages["BAD/notes.txt"]
    assert batch.status == Batch.Status.READY
    assert (
        not Job.objects.filter(status=Job.Status.DRAFT)
        .exclude(pk=batch.skus.get(name="GOOD").job_id)
        .exists()
    )


def test_a_started_batch_cannot_be_started_twice(team, member, three_skus):
    batch = start(zip_batch(team, member, three_skus))
    with pytest.raises(PackshotError, match="not ready"):
        start(batch)
    assert Job.objects.filter(team=team).exclude(status=Job.Status.DRAFT).count() == 3


def test_a_bad_naming_template_or_instruction_changes_nothing(team, member, three_skus):
    from packshots.errors import InvalidInstructionsError

    batch = zip_batch(team, member, three_skus)
    for naming, instructions in (
        ("{sku}.{ext}", None),
        ("../{sku}_{style}_{variation}.{ext}", None),
        ("{sku}/{style}_{variation}.{ext}", [{"style": "white_cutout", "num_variations": 99}]),
    ):
        with pytest.raises(InvalidInstructionsError):
            start(batch, instructions=instructions, naming=naming)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.READY and batch.instructions == []


def test_on_a_worker_a_batch_keeps_only_a_few_jobs_queued_and_feeds_the_rest_as_they_end(
    team, member, three_skus, monkeypatch, settings
):
    settings.BATCH_ACTIVE_JOBS = 2
    monkeypatch.setattr("packshots.queue.supports_later", lambda: True)
    batch = zip_batch(team, member, three_skus)
    services.batch_start(
        batch=batch, instructions=CUTOUT, engine="local", naming_template="{sku}_{style}_{variation}.{ext}"
    )
    assert services.batch_start_jobs(batch_id=batch.pk) is True  # a SKU is left waiting
    started = list(batch.skus.filter(status=Sku.Status.STARTED).select_related("job"))
    assert len(started) == 2 and all(s.job.status == Job.Status.QUEUED for s in started)
    assert services.batch_start_jobs(batch_id=batch.pk) is True  # no slot free yet: nothing more starts
    assert batch.skus.filter(status=Sku.Status.STARTED).count() == 2
    Job.objects.filter(pk=started[0].job_id).update(status=Job.Status.COMPLETED)
    assert services.batch_start_jobs(batch_id=batch.pk) is False
    assert batch.skus.filter(status=Sku.Status.STARTED).count() == 3
