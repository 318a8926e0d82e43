"""Job lifecycle: the state machine, repeatable tasks, idempotent events, cancellation."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from packshots import services
from packshots.engines.base import OutputEvent
from packshots.errors import InvalidInstructionsError, JobStateError, UploadRejectedError
from packshots.models import JOB_TRANSITIONS, TERMINAL_STATES, EngineEvent, Job, Result
from tests import factories

# The small test photo is upscaled over 3× at 1K, which the local engine flags: finished either way.
FINISHED = (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)


def report(job: Job, event_id: str, result_id: int, status: str, **data) -> bool:
    """Apply an output event for that result's slot, as an engine would."""
    result = Result.objects.get(pk=result_id)
    output = OutputEvent(result.instruction_index, result.variation_index, result.version, status, **data)
    return services.engine_event_apply(source="local", event_id=event_id, job_id=job.pk, output=output)


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("draft", "queued", True),
        ("queued", "submitting", True),
        ("submitting", "running", True),
        ("running", "completed", True),
        ("running", "partially_failed", True),
        ("queued", "canceled", True),
        ("completed", "running", False),
        ("running", "queued", False),
        ("failed", "running", False),
        ("completed", "canceled", False),
        ("failed", "completed", True),  # a regenerated output made good re-judges a finished job
        ("canceled", "running", False),
        ("canceled", "completed", False),
        ("draft", "running", False),
    ],
)
def test_transitions_only_go_forward(team, member, start, to, allowed):
    job = factories.make_job(team=team, status=start)
    assert services.job_transition(job_id=job.pk, to=to) is allowed
    job.refresh_from_db()
    assert job.status == (to if allowed else start)


def test_finished_jobs_only_move_between_outcomes_and_canceled_ones_never():
    for state in TERMINAL_STATES:
        assert JOB_TRANSITIONS.get(state, set()) <= TERMINAL_STATES - {Job.Status.CANCELED}
    assert Job.Status.CANCELED not in JOB_TRANSITIONS


def test_repeating_a_transition_is_harmless(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING)
    assert services.job_transition(job_id=job.pk, to=Job.Status.COMPLETED)
    assert not services.job_transition(job_id=job.pk, to=Job.Status.COMPLETED)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.finished_at is not None


def test_start_validates_everything_and_leaves_a_bad_draft_untouched(team, member):
    job = factories.make_draft(team=team, user=member, photos=0, instructions=[factories.WHITE_CUTOUT])
    with pytest.raises(InvalidInstructionsError) as info:
        services.job_start(job=job)
    assert "images" in info.value.field_errors
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT and not job.results.exists()


def test_start_enqueues_the_task_only_on_commit(team, member, django_capture_on_commit_callbacks):
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.job_start(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.results.exists()
    assert len(callbacks) == 1


def test_a_started_job_cannot_be_started_or_edited_again(team, member):
    job = factories.start_job(
        factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    )
    with pytest.raises(JobStateError):
        services.job_start(job=job)
    with pytest.raises(JobStateError):
        services.job_set_instructions(job=job, instructions=[])


def test_processing_a_job_twice_renders_each_output_once(team, member):
    job = factories.start_job(
        factories.make_draft(
            team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
        )
    )
    first = {r.pk: r.image.name for r in job.results.all()}
    assert services.job_process(job_id=job.pk, enqueue=False) == []  # nothing left to render
    for result_id in first:
        services.result_render(result_id=result_id)
    job.refresh_from_db()
    assert job.status in FINISHED
    assert {r.pk: r.image.name for r in job.results.all()} == first
    assert EngineEvent.objects.filter(job=job).count() == 2


def test_each_photo_is_segmented_once_per_job(team, member, monkeypatch):
    from packshots.engines.local.adapter import LocalEngine

    calls = []
    real = LocalEngine.prepare
    monkeypatch.setattr(LocalEngine, "prepare", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    job = factories.make_draft(
        team=team, user=member, photos=2, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 3}]
    )
    factories.start_job(job)
    assert len(calls) == 2 and job.results.count() == 3


def test_duplicate_events_are_ignored(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    result = job.results.first()
    assert report(job, "e1", result.pk, "failed", error="boom")
    assert not report(job, "e1", result.pk, "failed", error="boom")
    assert EngineEvent.objects.count() == 1


def test_events_never_move_a_result_backwards(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    result = job.results.get()
    report(job, "a", result.pk, "failed", error="first")
    report(job, "b", result.pk, "completed", image="x.jpg", thumbnail="t.jpg")
    result.refresh_from_db()
    assert result.status == Result.Status.FAILED and result.error == "first"


def test_some_failed_outputs_make_the_job_need_review_until_someone_decides(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    first, second = job.results.order_by("variation_index")
    report(job, "1", first.pk, "completed", image="a.jpg", thumbnail="b.jpg")
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.progress == 50
    report(job, "2", second.pk, "failed", error="engine refused")
    job.refresh_from_db()
    assert job.status == Job.Status.NEEDS_REVIEW and job.progress == 100
    assert job.error_message == "1 of 2 outputs need a decision (1 failed)."
    services.results_review(job=job, result_ids=[second.pk], decision="rejected", reason="", user=member)
    job.refresh_from_db()
    assert job.status == Job.Status.PARTIALLY_FAILED and "1 of 2" in job.error_message


def test_flagged_outputs_make_the_job_need_review_and_approval_completes_it(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    first, second = job.results.order_by("variation_index")
    report(job, "1", first.pk, "completed", image="a.jpg", warnings=("garment touches the photo's edge",))
    report(job, "2", second.pk, "completed", image="b.jpg")
    job.refresh_from_db()
    assert job.status == Job.Status.NEEDS_REVIEW and "1 flagged by the engine" in job.error_message
    first.refresh_from_db()
    assert first.warnings == ["garment touches the photo's edge"] and first.awaits_decision
    assert services.review_lines(job) == [f"Needs review: {first.filename}: garment touches the photo's edge"]
    # Only the latest version of a finished job's output can be decided, and approving a failure does nothing.
    assert (
        services.results_review(job=job, result_ids=[first.pk], decision="approved", reason="ok", user=member)
        == 1
    )
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.error_message == ""


def test_outputs_of_a_running_job_cannot_be_decided(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    with pytest.raises(JobStateError):
        services.results_review(
            job=job, result_ids=[job.results.get().pk], decision="approved", reason="", user=member
        )


def test_all_failed_outputs_fail_the_job_with_the_reason(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    services.result_fail(result_id=job.results.get().pk, message="Internal error while rendering: disk full")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "disk full" in job.error_message


def test_cancel_stops_pending_outputs(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    assert services.job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    assert set(job.results.values_list("status", flat=True)) == {"failed"}
    with pytest.raises(JobStateError):
        services.job_cancel(job=job)


def test_a_canceled_job_renders_nothing_more(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    services.job_cancel(job=job)
    services.result_render(result_id=job.results.get().pk)
    assert not job.results.get().image


def test_an_unreadable_photo_fails_the_job_with_its_name(team, member, monkeypatch):
    from packshots.engines.base import EngineError
    from packshots.engines.local.adapter import LocalEngine

    def broken(self, original, note=""):
        raise EngineError("This image is truncated or corrupt")

    monkeypatch.setattr(LocalEngine, "prepare", broken)
    job = factories.start_job(
        factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    )
    assert job.status == Job.Status.FAILED and "photo0.jpg" in job.error_message


def test_removing_a_draft_photo_deletes_its_file(team, member, django_capture_on_commit_callbacks):
    job = factories.make_draft(team=team, user=member, photos=1)
    upload = job.uploads.get()
    storage, name = upload.file.storage, upload.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.upload_remove(upload=upload)
    assert not storage.exists(name)


def test_uploads_keep_their_checksum_size_and_pixels(team, member):
    job = factories.make_draft(team=team, user=member, photos=1)
    upload = job.uploads.get()
    import hashlib

    with upload.file.open("rb") as f:
        data = f.read()
    assert upload.sha256 == hashlib.sha256(data).hexdigest() and upload.bytes == len(data)
    assert (upload.width, upload.height, upload.content_type) == (240, 320, "image/jpeg")


def test_resume_finishes_a_job_whose_worker_died(team, member):
    job = factories.make_draft(
        team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
    )
    with TestCase.captureOnCommitCallbacks(execute=False):  # the worker "dies": the queued task never runs
        services.job_start(job=job)
    assert services.jobs_resume(stale_after=timedelta(minutes=10)) == []  # not stale yet
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=30))
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("resume_jobs", "--minutes", "10")
    job.refresh_from_db()
    assert job.status in FINISHED and job.results.filter(status="completed").count() == 2


def test_resume_renders_only_the_outputs_that_were_left_behind(team, member):
    job = factories.start_job(
        factories.make_draft(
            team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
        )
    )
    done, crashed = job.results.order_by("variation_index")
    # Simulate a worker that died while rendering the second output, before the job finished.
    long_ago = timezone.now() - timedelta(hours=1)
    Result.objects.filter(pk=crashed.pk).update(status="processing", image="", updated_at=long_ago)
    EngineEvent.objects.filter(event_id=f"job-{job.pk}-0-1-v0").delete()
    Job.objects.filter(pk=job.pk).update(status="running", progress=50, updated_at=long_ago)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.jobs_resume(stale_after=timedelta(minutes=10)) == [job.pk]
    job.refresh_from_db()
    crashed.refresh_from_db()
    assert crashed.status == "completed" and crashed.image
    assert job.results.get(pk=done.pk).image.name == done.image.name
    assert job.status in FINISHED


def test_canceling_while_photos_are_prepared_leaves_no_outputs_behind(team, member, monkeypatch):
    from packshots.engines.local.adapter import LocalEngine

    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    real = LocalEngine.prepare

    def prepare_then_user_cancels(self, *args, **kwargs):
        prepared = real(self, *args, **kwargs)
        services.job_cancel(job=Job.objects.get(pk=job.pk))
        return prepared

    monkeypatch.setattr(LocalEngine, "prepare", prepare_then_user_cancels)
    factories.start_job(job)
    assert job.status == Job.Status.CANCELED and not job.results.exists()


def test_an_engine_refusal_fails_that_output_with_its_reason(team, member, monkeypatch):
    from packshots.engines.base import EngineError
    from packshots.engines.local.adapter import LocalEngine

    def refuse(self, inputs, instruction, *, variation, seed):
        if variation == 1:
            raise EngineError("The garment is too small to compose at 4K")
        return real(self, inputs, instruction, variation=variation, seed=seed)

    real = LocalEngine.render
    monkeypatch.setattr(LocalEngine, "render", refuse)
    job = factories.start_job(
        factories.make_draft(
            team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
        )
    )
    assert job.status == Job.Status.NEEDS_REVIEW
    failed = job.results.get(variation_index=1)
    assert failed.status == "failed" and failed.error == "The garment is too small to compose at 4K"


def test_a_crash_inside_a_task_fails_the_job_visibly(team, member, monkeypatch):
    from packshots.engines.local.adapter import LocalEngine

    def crash(self, *args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(LocalEngine, "render", crash)
    job = factories.start_job(
        factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    )
    assert job.status == Job.Status.FAILED
    assert "Internal error while rendering" in job.error_message and "out of memory" in job.error_message


def test_a_second_delivery_of_a_render_task_does_not_render_again(team, member, monkeypatch):
    from packshots.engines.local.adapter import LocalEngine

    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    result = job.results.get()
    Result.objects.filter(pk=result.pk).update(status="processing")  # the first delivery is rendering it
    calls = []
    monkeypatch.setattr(LocalEngine, "render", lambda *a, **k: calls.append(1))
    services.result_render(result_id=result.pk)
    assert calls == []


def test_a_failed_job_leaves_no_output_pending(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    services.job_fail(job_id=job.pk, message="Internal error while preparing the photos: boom")
    assert set(job.results.values_list("status", flat=True)) == {"failed"}


def test_a_draft_cannot_be_canceled(team, member):
    job = factories.make_draft(team=team, user=member)
    with pytest.raises(JobStateError, match="discard the draft"):
        services.job_cancel(job=job)


def test_resume_closes_a_job_whose_outputs_are_all_done(team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    Result.objects.filter(job=job).update(status="completed")  # finished, but the job never closed
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert services.jobs_resume(stale_after=timedelta(minutes=10)) == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def test_png_outputs_are_stored_under_png_names(team, member):
    png = {"style": "white_cutout", "options": {"size": "1K", "ar": "1:1", "format": "png"}}
    job = factories.start_job(factories.make_draft(team=team, user=member, instructions=[png]))
    result = job.results.get()
    assert result.format == "png" and result.image.name.endswith(".png")
    assert result.image.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("note", ["back\ud800view", "nul\x00", "x" * 501])
def test_a_bad_note_is_refused_by_the_service_itself(team, member, note):
    job = factories.make_draft(team=team, user=member)
    upload = job.uploads.get()
    with pytest.raises(UploadRejectedError, match="The note"):
        services.upload_update_note(upload=upload, note=note)
    upload.refresh_from_db()
    assert upload.note == ""
