"""Repairing a local job's cutout by hand: keep/remove strokes in, a new cutout and new output versions out.

The request only checks and reserves: it validates the strokes and, under the job's lock, creates the new
(pending) versions of every output made from the photo, held back from the fair queue. The heavy part —
decoding the photo, GrabCut, the full-resolution edge — runs in `upload_repair_task`, which stores the new
cutout and only then releases them to the queue, so a new version can never be rendered from the old cutout.
The new cutout replaces the old file: earlier output versions keep their own rendered images, so the old
cutout is not needed to show them.
"""

import io
import logging
from dataclasses import asdict

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from packshots import imaging, queue
from packshots import instructions as schema
from packshots.engines.base import PreparedInput
from packshots.engines.local.adapter import pick_input
from packshots.errors import InvalidInputError, JobStateError
from packshots.imaging import repair as repairing
from packshots.models import Job, Result, Upload
from packshots.selectors import latest_results
from packshots.services.jobs import OUTCOME_STATES, result_fail, result_regenerate_local, results_dispatch

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1600  # the photo in the repair page: sharp enough to paint on, small enough to load fast
# The cutout overlay: the background the cutout leaves out is dimmed with this colour and opacity.
OVERLAY_RGB, OVERLAY_OPACITY = (12, 16, 32), 170


def upload_repair_outputs(upload: Upload) -> list[Result]:
    """The newest version of every output the local engine renders from this photo.

    The engine's own rule (`pick_input`): the photo whose note names the instruction's angle, else the first.
    """
    job = upload.job
    uploads = list(job.uploads.all())
    inputs = [PreparedInput(lambda: b"", 0.0, False, u.note) for u in uploads]
    made_from_it = set()
    for index, instruction in enumerate(job.instructions):
        picked = pick_input(inputs, schema.normalize_instruction(instruction).get("angle"))
        if uploads[next(i for i, p in enumerate(inputs) if p is picked)].pk == upload.pk:
            made_from_it.add(index)
    return [r for r in latest_results(job) if r.instruction_index in made_from_it]


def upload_repair_refusal(upload: Upload) -> str:
    """Why this photo's cutout cannot be repaired now, in plain words; "" when it can."""
    job = upload.job
    if job.engine != Job.Engine.LOCAL:
        return "Only cutouts made by the local engine can be repaired (PiktID makes its own)."
    if job.status not in OUTCOME_STATES:
        return "A cutout can be repaired once its job has finished."
    if not upload.cutout:
        return "This photo has no cutout."
    outputs = upload_repair_outputs(upload)
    if not outputs:
        return "No output of this job is made from this photo, so repairing its cutout would change nothing."
    if any(not r.is_done for r in outputs):
        return "Outputs made from this photo are still being rendered: repair the cutout once they are done."
    return ""


def upload_repair(*, upload: Upload, keep_strokes: object, remove_strokes: object, user) -> list[Result]:
    """Repair a photo's cutout with brush strokes; returns the new (pending) versions of its outputs.

    Strokes are JSON-decoded lists of `{"radius": r, "points": [[x, y], …]}` in the photo's pixels. Bad
    strokes raise InvalidInputError, a job or photo that cannot be repaired JobStateError; either way
    nothing changes. The outputs keep their seed: only the cutout differs from the version before.
    """
    try:
        keep = repairing.parse_strokes(keep_strokes, width=upload.width, height=upload.height, name="keep")
        remove = repairing.parse_strokes(
            remove_strokes, width=upload.width, height=upload.height, name="remove"
        )
        repairing.check_total(keep, remove)
    except repairing.StrokeError as exc:
        raise InvalidInputError({"strokes": [str(exc)]}) from None
    with transaction.atomic():
        Job.objects.select_for_update().get(pk=upload.job_id)
        upload = Upload.objects.select_related("job").get(pk=upload.pk)
        if reason := upload_repair_refusal(upload):
            raise JobStateError(reason)
        fresh = [
            result_regenerate_local(result=result, same_seed=True, render=False)
            for result in upload_repair_outputs(upload)
        ]
        # Held back from the fair queue (marked as handed over) until the new cutout is stored: rendered
        # earlier, they would show the old cutout.
        Result.objects.filter(pk__in=[r.pk for r in fresh]).update(dispatched_at=timezone.now())
        queue.enqueue(
            "upload_repair_task",
            upload_id=upload.pk,
            keep=[asdict(s) for s in keep],
            remove=[asdict(s) for s in remove],
            result_ids=[r.pk for r in fresh],
        )
    log.info("Upload %s: cutout repair asked by user %s (%d outputs)", upload.pk, user.pk, len(fresh))
    return fresh


def upload_repair_run(*, upload_id: int, keep: list, remove: list, result_ids: list[int]) -> None:
    """The task's work: repair the cutout, store it, then render the reserved versions (idempotent).

    A repair that cannot be made (the stored cutout no longer lines up with the photo) fails those
    versions with the reason, so nothing is left pending.
    """
    pending = list(
        Result.objects.filter(pk__in=result_ids, status=Result.Status.PENDING).values_list("pk", flat=True)
    )
    if not pending:
        return  # a twin run did it already
    upload = Upload.objects.get(pk=upload_id)
    try:
        data = _repaired_cutout(upload, keep, remove)
    except (repairing.RepairError, repairing.StrokeError, imaging.ImageError) as exc:
        for result_id in pending:
            result_fail(result_id=result_id, message=f"The cutout could not be repaired: {exc}")
        return
    old = upload.cutout.name
    upload.cutout.save("cutout.png", ContentFile(data), save=False)
    # A person has just looked at this cutout and fixed it: it no longer awaits review.
    upload.needs_review = False
    upload.save(update_fields=["cutout", "needs_review"])
    if old and old != upload.cutout.name:
        default_storage.delete(old)
    # Released to the fair queue, which hands them to the workers in the team's turn.
    Result.objects.filter(pk__in=pending).update(dispatched_at=None)
    results_dispatch()


def _repaired_cutout(upload: Upload, keep: list, remove: list) -> bytes:
    photo = _photo(upload)
    shape = photo.shape[:2]
    rgba = _cutout(upload)
    offset = repairing.locate(photo, rgba[..., :3], rgba[..., 3])
    current = repairing.place(rgba[..., 3], offset, shape)
    size = {"width": shape[1], "height": shape[0]}
    keep_mask = repairing.rasterize(repairing.parse_strokes(keep, **size, name="keep"), shape)
    remove_mask = repairing.rasterize(repairing.parse_strokes(remove, **size, name="remove"), shape)
    cutout = repairing.repair(photo, current, keep_mask, remove_mask, confidence=upload.confidence or 0.0)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([cutout.rgb, cutout.alpha]), "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _photo(upload: Upload, *, max_side: int | None = None) -> np.ndarray:
    with upload.file.open("rb") as f:
        return np.asarray(imaging.load_image(f, max_side=max_side))


def _cutout(upload: Upload) -> np.ndarray:
    with upload.cutout.open("rb") as f:
        return np.asarray(Image.open(f).convert("RGBA"))


def upload_repair_photo(upload: Upload) -> bytes:
    """The photo as the repair page paints on it: upright, at most PREVIEW_SIDE, as JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(_photo(upload, max_side=PREVIEW_SIDE)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def upload_repair_overlay(upload: Upload) -> bytes:
    """The current cutout over the whole photo, as a PNG the page lays on the photo: the background dimmed.

    Same size as `upload_repair_photo`. Raises RepairError/ImageError when the cutout cannot be placed.
    """
    if not upload.cutout:
        raise repairing.RepairError("This photo has no cutout.")
    photo = _photo(upload)
    rgba = _cutout(upload)
    offset = repairing.locate(photo, rgba[..., :3], rgba[..., 3])
    alpha = repairing.place(rgba[..., 3], offset, photo.shape[:2])
    preview = Image.fromarray(np.round(alpha * 255).astype(np.uint8), "L")
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
    shade = np.round(OVERLAY_OPACITY * (1 - np.asarray(preview, np.float32) / 255)).astype(np.uint8)
    layer = np.empty((*shade.shape, 4), np.uint8)
    layer[..., :3] = OVERLAY_RGB
    layer[..., 3] = shade
    buffer = io.BytesIO()
    Image.fromarray(layer, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()
