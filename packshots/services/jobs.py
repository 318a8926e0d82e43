"""Running jobs: the state machine, the local engine's tasks, engine events, recovery."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from packshots.engines.base import EngineError, PreparedInput, get_render_engine
from packshots.errors import JobStateError
from packshots.models import JOB_TRANSITIONS, EngineEvent, Job, Result
from packshots.selectors import latest_results

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- the state machine


_TIMESTAMPS = {
    Job.Status.QUEUED: "queued_at",
    Job.Status.RUNNING: "started_at",
    Job.Status.COMPLETED: "finished_at",
    Job.Status.PARTIALLY_FAILED: "finished_at",
    Job.Status.FAILED: "finished_at",
    Job.Status.CANCELED: "finished_at",
}


def job_transition(*, job_id: int, to: str, **fields) -> bool:
    """Move the job to `to` if allowed from where it is now; False means it already moved on."""
    sources = [src for src, targets in JOB_TRANSITIONS.items() if to in targets]
    changes = {"status": to, "updated_at": timezone.now(), **fields}
    if stamp := _TIMESTAMPS.get(to):
        changes[stamp] = timezone.now()
    return Job.objects.filter(pk=job_id, status__in=sources).update(**changes) == 1


def job_cancel(*, job: Job) -> bool:
    if job.is_draft:
        raise JobStateError("This job was never started: discard the draft instead.")
    if job.is_terminal:
        raise JobStateError("This job has already finished.")
    return _job_stop(
        job_id=job.pk, to=Job.Status.CANCELED, message="Canceled by a user.", result_error="Canceled"
    )


def job_fail(*, job_id: int, message: str) -> bool:
    return _job_stop(job_id=job_id, to=Job.Status.FAILED, message=message, result_error="The job failed")


def _job_stop(*, job_id: int, to: str, message: str, result_error: str) -> bool:
    """End a job early; its unfinished outputs end with it, so none is left pending."""
    moved = job_transition(job_id=job_id, to=to, error_message=message[:2000])
    if moved:
        Result.objects.filter(
            job_id=job_id, status__in=[Result.Status.PENDING, Result.Status.PROCESSING]
        ).update(status=Result.Status.FAILED, error=result_error, updated_at=timezone.now())
    return moved


# ---------------------------------------------------------------- running a job on the local engine


def job_process(*, job_id: int, enqueue: bool = True) -> list[int]:
    """Prepare every input once, create one pending result per output; returns the pending result ids.

    Safe to repeat: a job that already moved past `queued` is resumed (missing outputs only).
    With enqueue=True each pending output gets a render task; otherwise the caller renders them (the CLI).
    """
    job_transition(job_id=job_id, to=Job.Status.SUBMITTING)
    job = Job.objects.get(pk=job_id)
    if job.status not in (Job.Status.SUBMITTING, Job.Status.RUNNING):
        return []
    engine = get_render_engine(job.engine, threads=settings.PACKSHOT_LOCAL_THREADS)
    for upload in job.uploads.filter(cutout=""):
        with upload.file.open("rb") as f:
            original = f.read()
        try:
            prepared = engine.prepare(original, note=upload.note)
        except EngineError as exc:
            job_fail(job_id=job.pk, message=f"{upload.original_name}: {exc}")
            return []
        upload.cutout.save("cutout.png", ContentFile(prepared.load()), save=False)
        upload.confidence = prepared.confidence
        upload.needs_review = prepared.needs_review
        upload.save(update_fields=["cutout", "confidence", "needs_review"])
    with transaction.atomic():
        job_transition(job_id=job.pk, to=Job.Status.RUNNING)
        if not Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists():
            return []  # canceled (or failed) while the photos were being prepared
        for index, instruction in enumerate(job.instructions):
            for variation in range(instruction.get("num_variations", 1)):
                Result.objects.get_or_create(
                    job=job, instruction_index=index, variation_index=variation, version=0
                )
    pending = list(job.results.filter(status=Result.Status.PENDING).values_list("pk", flat=True))
    if enqueue:
        from packshots.tasks import result_render_task

        for result_id in pending:
            transaction.on_commit(partial(result_render_task.enqueue, result_id=result_id))
    return pending


def result_render(*, result_id: int) -> None:
    """Render one output and report it through the event service (idempotent)."""
    # Claim only while the job runs, so a canceled job never has outputs stuck in "processing".
    claimed = Result.objects.filter(
        pk=result_id, status=Result.Status.PENDING, job__status=Job.Status.RUNNING
    ).update(status=Result.Status.PROCESSING, updated_at=timezone.now())
    result = Result.objects.select_related("job").get(pk=result_id)
    job = result.job
    if not claimed:
        return  # a twin task has it (or had it), or the job stopped; resume_jobs recovers crashed claims
    engine = get_render_engine(job.engine, threads=settings.PACKSHOT_LOCAL_THREADS)
    inputs = [
        PreparedInput(
            partial(_read, upload.cutout), upload.confidence or 0.0, upload.needs_review, upload.note
        )
        for upload in job.uploads.all()
    ]
    instruction = job.instructions[result.instruction_index]
    seed = instruction.get("seed", instruction.get("options", {}).get("seed", job.pk))
    event_id = f"result-{result.pk}-v{result.version}"
    try:
        output = engine.render(inputs, instruction, variation=result.variation_index, seed=seed)
    except EngineError as exc:
        engine_event_apply(
            source="local",
            event_id=event_id,
            job=job,
            name="image_result",
            data={"result_id": result.pk, "status": "failed", "error": str(exc)},
        )
        return
    image_name = default_storage.save(_result_path(job, result.filename), ContentFile(output.data))
    thumb_name = default_storage.save(
        _result_path(job, f"thumb_{result.filename}.jpg"), ContentFile(output.thumbnail)
    )
    applied = engine_event_apply(
        source="local",
        event_id=event_id,
        job=job,
        name="image_result",
        data={
            "result_id": result.pk,
            "status": "completed",
            "image": image_name,
            "thumbnail": thumb_name,
            "width": output.width,
            "height": output.height,
            "format": output.format,
            "bytes": len(output.data),
            "model_used": output.model_used,
            "confidence": output.confidence,
            "needs_review": output.needs_review,
        },
    )
    if not applied or not Result.objects.filter(pk=result.pk, image=image_name).exists():
        # A twin run got there first, or the job was canceled meanwhile: drop our copy.
        default_storage.delete(image_name)
        default_storage.delete(thumb_name)


def job_process_or_fail(*, job_id: int, enqueue: bool = True) -> list[int]:
    """job_process for the task and CLI boundaries: any crash fails the job visibly, then propagates."""
    try:
        return job_process(job_id=job_id, enqueue=enqueue)
    except Exception as exc:
        log.exception("Job %s failed while preparing", job_id)
        job_fail(job_id=job_id, message=f"Internal error while preparing the photos: {exc}")
        raise


def result_render_or_fail(*, result_id: int) -> None:
    """result_render for the task and CLI boundaries: a crash fails that output visibly, then propagates."""
    try:
        result_render(result_id=result_id)
    except Exception as exc:
        log.exception("Result %s failed to render", result_id)
        result_fail(result_id=result_id, message=f"Internal error while rendering: {exc}")
        raise


def result_fail(*, result_id: int, message: str) -> None:
    result = Result.objects.select_related("job").get(pk=result_id)
    engine_event_apply(
        source="local",
        event_id=f"result-{result.pk}-v{result.version}",
        job=result.job,
        name="image_result",
        data={"result_id": result.pk, "status": "failed", "error": message},
    )


def _read(field: FieldFile) -> bytes:
    with field.open("rb") as f:
        return f.read()


def _result_path(job: Job, name: str) -> str:
    return f"teams/{job.team_id}/results/job_{job.pk}/{name}"


def jobs_resume(*, stale_after: timedelta) -> list[int]:
    """Re-enqueue the work of jobs that stopped moving (a worker died mid-task); returns their ids.

    Safe because every step is idempotent: a result already rendered is skipped, a duplicate event is dropped.
    """
    cutoff = timezone.now() - stale_after
    from packshots.tasks import job_process_task, result_render_task

    resumed = []
    active = [Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING]
    for job in Job.objects.filter(status__in=active, updated_at__lt=cutoff):
        if job.status == Job.Status.RUNNING:
            stuck = job.results.filter(
                status__in=[Result.Status.PENDING, Result.Status.PROCESSING], updated_at__lt=cutoff
            )
            stuck_ids = list(stuck.values_list("pk", flat=True))
            # A crashed render's claim is released, so exactly one of the re-enqueued tasks renders it.
            Result.objects.filter(pk__in=stuck_ids).update(
                status=Result.Status.PENDING, updated_at=timezone.now()
            )
            for result_id in stuck_ids:
                result_render_task.enqueue(result_id=result_id)
            with transaction.atomic():  # closes a job whose outputs are all done but which never closed
                _job_refresh_progress(Job.objects.select_for_update().get(pk=job.pk))
        else:
            job_process_task.enqueue(job_id=job.pk)
        resumed.append(job.pk)
    return resumed


# ---------------------------------------------------------------- engine events


def engine_event_apply(*, source: str, event_id: str, job: Job | None, name: str, data: dict) -> bool:
    """Record an engine event once and apply it forward-only; False if it was seen before."""
    with transaction.atomic():
        if job is not None:
            # One event at a time per job: two outputs finishing together must not both count N-1 of N done
            # and leave the job running forever (PostgreSQL with several workers).
            job = Job.objects.select_for_update().get(pk=job.pk)
        try:
            with transaction.atomic():
                EngineEvent.objects.create(source=source, event_id=event_id, job=job, name=name, payload=data)
        except IntegrityError:
            return False
        if name == "image_result" and job is not None:
            _apply_image_result(job, data)
    return True


_RESULT_FIELDS = ("width", "height", "format", "bytes", "model_used", "confidence", "needs_review")


def _apply_image_result(job: Job, data: dict) -> None:
    results = Result.objects.filter(
        pk=data["result_id"], job=job, status__in=[Result.Status.PENDING, Result.Status.PROCESSING]
    )
    if data["status"] == "completed":
        changes = {key: data[key] for key in _RESULT_FIELDS if key in data}
        results.update(
            status=Result.Status.COMPLETED,
            image=data["image"],
            thumbnail=data["thumbnail"],
            updated_at=timezone.now(),
            **changes,
        )
    else:
        results.update(
            status=Result.Status.FAILED, error=data.get("error", "")[:2000], updated_at=timezone.now()
        )
    _job_refresh_progress(job)


def _job_refresh_progress(job: Job) -> None:
    slots = latest_results(job)
    total = max(job.total_outputs, len(slots), 1)
    done = [r for r in slots if r.is_done]
    # updated_at moves with progress, so resume_jobs never takes a job that is still rendering for stale.
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        progress=min(100.0, 100.0 * len(done) / total), updated_at=timezone.now()
    )
    if len(done) < job.total_outputs:
        return
    failed = [r for r in done if r.status == Result.Status.FAILED]
    if not failed:
        job_transition(job_id=job.pk, to=Job.Status.COMPLETED)
    elif len(failed) == len(done):
        job_transition(
            job_id=job.pk, to=Job.Status.FAILED, error_message=failed[0].error or "Every output failed."
        )
    else:
        job_transition(
            job_id=job.pk,
            to=Job.Status.PARTIALLY_FAILED,
            error_message=f"{len(failed)} of {len(done)} outputs failed.",
        )
