"""Cutout repair (local engine): strokes in, a new cutout and new versions of the outputs from the photo."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from packshots import services
from packshots.errors import InvalidInputError, JobStateError
from packshots.imaging import repair as repairing
from packshots.models import Job, Result, Upload
from tests import factories

# factories.photo_bytes: a 240×320 photo with a red 120×160 block (the garment) at (60, 80).
FINISHED = (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
INSIDE = [{"radius": 12, "points": [[70, 100], [170, 100]]}]  # across the block's upper part
OUTSIDE = [{"radius": 6, "points": [[10, 10], [50, 10]]}]  # floor, top left


@pytest.fixture
def finished(team, member):
    """A finished local job: one photo, two variations of a white cutout."""
    job = factories.make_draft(
        team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
    )
    factories.start_job(job)
    assert job.status in FINISHED  # needs review when the engine flags the synthetic photo's cutout
    return job


def cutout_alpha(upload) -> np.ndarray:
    """The stored cutout's matte, placed in the photo (True = garment)."""
    upload.refresh_from_db()
    with upload.file.open("rb") as f:
        photo = np.asarray(Image.open(f).convert("RGB"))
    with upload.cutout.open("rb") as f:
        rgba = np.asarray(Image.open(f).convert("RGBA"))
    offset = repairing.locate(photo, rgba[..., :3], rgba[..., 3])
    return repairing.place(rgba[..., 3], offset, photo.shape[:2]) > 0.5


def image_bytes(result: Result) -> bytes:
    result.refresh_from_db()
    with result.image.open("rb") as f:
        return f.read()


def test_a_repair_stores_a_new_cutout_and_renders_every_output_again_with_the_same_seed(
    finished, member, django_capture_on_commit_callbacks
):
    upload = finished.uploads.get()
    before = cutout_alpha(upload)
    old_name = upload.cutout.name
    assert before[95:106, 70:171].all()

    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.upload_repair(
            upload=upload, keep_strokes=OUTSIDE, remove_strokes=INSIDE, user=member
        )

    assert sorted((r.variation_index, r.version, r.seed_version) for r in fresh) == [(0, 1, 0), (1, 1, 0)]
    after = cutout_alpha(upload)
    assert not after[95:106, 70:171].any()  # removed where painted
    assert after[5:16, 10:51].all()  # kept where painted
    assert after[160:235, 65:175].all()  # the rest of the garment stays
    assert upload.cutout.name != old_name and not default_storage.exists(old_name)
    for result in fresh:
        result.refresh_from_db()
        assert result.status == Result.Status.COMPLETED
        old = finished.results.get(variation_index=result.variation_index, version=0)
        assert image_bytes(result) != image_bytes(old)  # rendered from the repaired cutout
    finished.refresh_from_db()
    assert finished.status in FINISHED  # still finished, its outcome judged again


def test_the_same_seed_rule_renders_an_unchanged_cutout_identically(
    finished, django_capture_on_commit_callbacks
):
    v0 = finished.results.get(variation_index=1, version=0)
    with django_capture_on_commit_callbacks(execute=True):
        same = services.result_regenerate_local(result=v0, same_seed=True)
    with django_capture_on_commit_callbacks(execute=True):
        new = services.result_regenerate_local(result=v0)
    assert (same.seed_version, new.seed_version) == (0, None)
    assert image_bytes(same) == image_bytes(v0)  # variation 1's placement comes from the seed
    assert image_bytes(new) != image_bytes(v0)
    # A repair after a regenerated version keeps that version's draw.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.result_regenerate_local(result=new, same_seed=True)
    assert again.version == 3 and again.seed_version == 2 and image_bytes(again) == image_bytes(new)


@pytest.mark.parametrize(
    ("keep", "remove", "message"),
    [
        ([], [], "Paint at least one keep or remove stroke"),
        ("nope", [], "keep: must be a list of strokes"),
        ([{"radius": 5, "points": [[241, 10]]}], [], r"keep\[0\].points\[0\]: x must be 0–240"),
        ([], [{"radius": 5, "points": [[1, -3]]}], r"remove\[0\].points\[0\]: y must be 0–320"),
        ([], [{"radius": 500, "points": [[1, 1]]}], r"remove\[0\].radius: must be a number from 1 to 80"),
        ([{"radius": 5, "points": [[1, 1]] * 12_000}] * 2, [], "At most 20,000 points"),
    ],
)
def test_bad_strokes_are_refused_and_nothing_changes(team, member, keep, remove, message):
    # Strokes are checked before anything else, so a draft's photo (240×320, no cutout yet) will do.
    upload = factories.make_draft(team=team, user=member).uploads.get()
    with pytest.raises(InvalidInputError, match=message):
        services.upload_repair(upload=upload, keep_strokes=keep, remove_strokes=remove, user=member)
    upload.refresh_from_db()
    assert not upload.cutout and not Result.objects.exists()


def test_a_repair_waits_for_outputs_still_rendering(finished, member):
    upload = finished.uploads.get()
    services.result_regenerate_local(result=finished.results.first(), render=False)  # pending
    with pytest.raises(JobStateError, match="still being rendered"):
        services.upload_repair(upload=upload, keep_strokes=OUTSIDE, remove_strokes=[], user=member)
    assert finished.results.count() == 3


def test_only_finished_local_jobs_can_be_repaired(team, member):
    running = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    upload = running.uploads.get()
    assert "once its job has finished" in services.upload_repair_refusal(upload)
    with pytest.raises(JobStateError, match="once its job has finished"):
        services.upload_repair(upload=upload, keep_strokes=OUTSIDE, remove_strokes=[], user=member)
    Job.objects.filter(pk=running.pk).update(status=Job.Status.COMPLETED, engine=Job.Engine.PIKTID)
    upload.job.refresh_from_db()
    assert "local engine" in services.upload_repair_refusal(upload)


def test_outputs_come_from_the_photo_the_engine_picks(team, member):
    back = {**factories.WHITE_CUTOUT, "angle": "back"}
    job = factories.make_draft(team=team, user=member, photos=2, instructions=[factories.WHITE_CUTOUT, back])
    front, rear = job.uploads.all()
    services.upload_update_note(upload=rear, note="back view")
    factories.start_job(job)
    front.refresh_from_db()
    rear.refresh_from_db()
    assert [r.instruction_index for r in services.upload_repair_outputs(front)] == [0]
    assert [r.instruction_index for r in services.upload_repair_outputs(rear)] == [1]
    Upload.objects.filter(pk=rear.pk).update(note="")  # as if the note had never named the view
    rear.refresh_from_db()
    assert "No output of this job is made from this photo" in services.upload_repair_refusal(rear)


def test_a_cutout_that_no_longer_lines_up_fails_the_new_versions_with_the_reason(
    finished, member, django_capture_on_commit_callbacks
):
    upload = finished.uploads.get()
    other = Image.new("RGBA", (50, 50), (0, 255, 0, 255))
    buffer = io.BytesIO()
    other.save(buffer, "PNG")
    with upload.cutout.open("wb") as f:
        f.write(buffer.getvalue())
    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.upload_repair(upload=upload, keep_strokes=OUTSIDE, remove_strokes=[], user=member)
    for result in fresh:
        result.refresh_from_db()
        assert result.status == Result.Status.FAILED
        assert result.error.startswith("The cutout could not be repaired: The stored cutout does not line up")


def test_overlay_and_photo_previews_have_the_photos_shape(finished):
    upload = finished.uploads.get()
    photo = Image.open(io.BytesIO(services.upload_repair_photo(upload)))
    overlay = Image.open(io.BytesIO(services.upload_repair_overlay(upload)))
    assert photo.format == "JPEG" and photo.size == overlay.size == (240, 320)
    shade = np.asarray(overlay)[..., 3]
    assert (
        shade[5, 5] == services.repair.OVERLAY_OPACITY and shade[160, 120] == 0
    )  # floor dimmed, garment clear


def test_reserved_versions_wait_for_the_new_cutout_before_the_fair_queue_renders_them(
    finished, member, django_capture_on_commit_callbacks
):
    upload = finished.uploads.get()
    with django_capture_on_commit_callbacks() as callbacks:
        fresh = services.upload_repair(upload=upload, keep_strokes=OUTSIDE, remove_strokes=[], user=member)
    # A render ending elsewhere runs the dispatcher: it must not take the versions the repair holds.
    assert services.results_dispatch() == 0
    held = Result.objects.filter(pk__in=[r.pk for r in fresh])
    assert {r.status for r in held} == {Result.Status.PENDING}
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the repair task, which stores the cutout, then releases them
            callback()
    assert {r.status for r in held.all()} == {Result.Status.COMPLETED}
