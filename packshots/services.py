"""Use cases: every write to projects, uploads, presets, jobs and results goes through here."""

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team, User
from packshots import imaging
from packshots import instructions as schema
from packshots.engines.base import EngineError, PreparedInput, get_render_engine
from packshots.errors import InvalidInstructionsError, JobStateError, PackshotError, UploadRejectedError
from packshots.models import JOB_TRANSITIONS, EngineEvent, Job, Preset, Project, Result, Upload
from packshots.selectors import latest_results

log = logging.getLogger(__name__)

DEFAULT_REQUEST = {"instructions": [], "options": {"model": "auto"}, "post_process": False}


# ---------------------------------------------------------------- projects


def project_create(*, team: Team, created_by: User, name: str, description: str = "") -> Project:
    name = name.strip()
    if not name:
        raise PackshotError("Give the project a name.")
    if Project.objects.filter(team=team, name__iexact=name).exists():
        raise PackshotError(f"Your team already has a project called “{name}”.")
    return Project.objects.create(
        team=team, created_by=created_by, name=name, description=description.strip()
    )


# ---------------------------------------------------------------- presets


def preset_save(
    *,
    team: Team,
    author: User,
    name: str,
    instruction: dict,
    categories: list[str],
    preset: Preset | None = None,
) -> Preset:
    """Create or update a preset; the instruction is checked against the schema first."""
    instruction = {k: v for k, v in instruction.items() if k not in ("preset_name", "category_names")}
    errors = schema.validate_instruction(instruction)
    if errors:
        raise InvalidInstructionsError(errors)
    clash = Preset.objects.filter(team=team, name__iexact=name.strip())
    if preset is not None:
        clash = clash.exclude(pk=preset.pk)
    if clash.exists():
        raise PackshotError(f"The library already has a preset called “{name.strip()}”.")
    preset = preset or Preset(team=team)
    preset.name = name.strip()
    preset.instruction = instruction
    preset.categories = [c.strip() for c in categories if c.strip()]
    preset.author = author
    preset.full_clean()
    preset.save()
    return preset


@transaction.atomic
def presets_import(*, team: Team, author: User, text: str | bytes) -> list[Preset]:
    """Import every instruction of a JSON document as presets (all or nothing)."""
    items = schema.load_instructions(text)
    errors = schema.validate_job(instructions=items)
    if errors:
        raise InvalidInstructionsError(errors)
    created = []
    for index, item in enumerate(items):
        name = item.get("preset_name") or f"{schema.describe_instruction(item)} #{index + 1}"
        created.append(
            preset_save(
                team=team,
                author=author,
                name=name,
                instruction=item,
                categories=item.get("category_names", []),
            )
        )
    return created


# ---------------------------------------------------------------- the draft job (the wizard's state)


def job_draft_create(*, project: Project, author: User, engine: str | None = None) -> Job:
    return Job.objects.create(
        team=project.team,
        project=project,
        author=author,
        engine=engine or settings.PACKSHOT_DEFAULT_ENGINE,
        request=json.loads(json.dumps(DEFAULT_REQUEST)),
    )


def _require_draft(job: Job) -> None:
    if job.status != Job.Status.DRAFT:
        raise JobStateError("This job has already been started; its photos and instructions are fixed.")


def upload_add(*, job: Job, uploaded_by: User, file: File, note: str = "") -> Upload:
    """Check one photo and keep it in our storage; a rejected file leaves nothing behind."""
    _require_draft(job)
    name = file.name or "photo"
    if job.uploads.count() >= schema.MAX_IMAGES:
        raise UploadRejectedError(f"{name}: a job takes at most {schema.MAX_IMAGES} photos.")
    max_bytes = settings.PACKSHOT_MAX_UPLOAD_MB * 1024 * 1024
    if file.size is not None and file.size > max_bytes:
        raise UploadRejectedError(f"{name}: the file is over the {settings.PACKSHOT_MAX_UPLOAD_MB} MB limit.")
    if len(note) > schema.MAX_NOTE_LENGTH:
        raise UploadRejectedError(f"{name}: the note is longer than {schema.MAX_NOTE_LENGTH} characters.")
    # Whole file in memory (bounded by PACKSHOT_MAX_UPLOAD_MB): decoding needs it anyway.
    file.seek(0)
    data = file.read()
    file.seek(0)
    try:
        info = imaging.probe(data, max_pixels=settings.PACKSHOT_MAX_PIXELS)
        thumb = imaging.thumbnail(imaging.load_image(data, max_pixels=settings.PACKSHOT_MAX_PIXELS))
    except imaging.ImageError as exc:
        raise UploadRejectedError(f"{name}: {exc}") from exc
    upload = Upload(
        team_id=job.team_id,
        project_id=job.project_id,
        job=job,
        original_name=name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        width=info.width,
        height=info.height,
        content_type=info.content_type,
        note=note.strip(),
        order=(job.uploads.order_by("-order").values_list("order", flat=True).first() or 0) + 1,
        uploaded_by=uploaded_by,
    )
    # Stored under the detected format's extension; the user's file name is kept only for display.
    upload.file.save(f"original.{info.format.lower()}", file, save=False)
    try:
        upload.thumbnail.save("thumb.jpg", ContentFile(thumb), save=False)
        upload.save()
    except Exception:
        # Keep storage and database in step: no orphaned file for a row that never existed.
        for stored in (upload.file, upload.thumbnail):
            if stored.name:
                stored.storage.delete(stored.name)
        raise
    return upload


def upload_update_note(*, upload: Upload, note: str) -> Upload:
    _require_draft(upload.job)
    if len(note) > schema.MAX_NOTE_LENGTH:
        raise UploadRejectedError(f"The note is longer than {schema.MAX_NOTE_LENGTH} characters.")
    upload.note = note.strip()
    upload.save(update_fields=["note"])
    return upload


def upload_remove(*, upload: Upload) -> None:
    """Take a photo out of a draft job (its file goes too: no job ever used it)."""
    _require_draft(upload.job)
    names = [f.name for f in (upload.file, upload.thumbnail, upload.cutout) if f.name]
    upload.delete()
    for name in names:
        transaction.on_commit(partial(default_storage.delete, name))


_UPLOAD_COPIED_FIELDS = (
    "team_id",
    "project_id",
    "original_name",
    "sha256",
    "bytes",
    "width",
    "height",
    "content_type",
    "note",
    "order",
    "confidence",
    "needs_review",
)


@transaction.atomic
def job_duplicate(*, job: Job, author: User) -> Job:
    """A new draft with the same photos (copied, so each job owns its originals), instructions and options."""
    draft = Job.objects.create(
        team=job.team,
        project=job.project,
        author=author,
        engine=job.engine,
        request=job.request,
        total_outputs=job.total_outputs,
        estimated_credits=job.estimated_credits,
    )
    for upload in job.uploads.all():
        copy = Upload(job=draft, uploaded_by=author, **{f: getattr(upload, f) for f in _UPLOAD_COPIED_FIELDS})
        # The cutout comes along too: the same photo needs no second segmentation.
        for field in ("file", "thumbnail", "cutout"):
            source = getattr(upload, field)
            if source.name:
                with source.open("rb") as f:
                    getattr(copy, field).save(source.name.rsplit("/", 1)[-1], File(f), save=False)
        copy.save()
    return draft


@transaction.atomic
def job_discard(*, job: Job) -> None:
    """Throw away a draft and its photos (a started job is never deleted from the app)."""
    _require_draft(job)
    for upload in job.uploads.all():
        upload_remove(upload=upload)
    job.delete()


def job_set_instructions(*, job: Job, instructions: list[dict]) -> Job:
    _require_draft(job)
    errors = schema.validate_job(instructions=instructions) if instructions else {}
    if errors:
        raise InvalidInstructionsError(errors)
    job.request = {**job.request, "instructions": [schema.normalize_instruction(i) for i in instructions]}
    job.total_outputs = schema.total_outputs(job.instructions)
    job.estimated_credits = schema.credit_cost(job.instructions)
    job.save(update_fields=["request", "total_outputs", "estimated_credits", "updated_at"])
    return job


@transaction.atomic
def job_add_instructions(
    *, job: Job, instructions: list[dict], share_as: str = "", author: User | None = None
) -> Job:
    """Append instructions to a draft; with share_as, the (single) instruction also becomes a team preset."""
    job = job_set_instructions(job=job, instructions=job.instructions + list(instructions))
    if share_as.strip() and author is not None:
        for instruction in instructions:
            preset_save(team=job.team, author=author, name=share_as, instruction=instruction, categories=[])
    return job


def job_remove_instruction(*, job: Job, index: int) -> Job:
    current = job.instructions
    if not 0 <= index < len(current):
        raise PackshotError("That instruction is no longer in this job.")
    del current[index]
    return job_set_instructions(job=job, instructions=current)


def job_set_options(*, job: Job, engine: str, options: dict, post_process: bool) -> Job:
    _require_draft(job)
    errors = schema.validate_job(instructions=job.instructions or [{"style": "free"}], options=options)
    errors = {k: v for k, v in errors.items() if k.startswith("options")}
    if errors:
        raise InvalidInstructionsError(errors)
    job.engine = engine
    job.request = {**job.request, "options": options, "post_process": post_process}
    job.save(update_fields=["engine", "request", "updated_at"])
    return job


def job_request_errors(job: Job) -> dict[str, list[str]]:
    """Everything that stops this draft from starting, keyed by field."""
    images = [{"file_id": str(u.pk), "note": u.note} for u in job.uploads.all()]
    return schema.validate_job(
        instructions=job.instructions,
        images=images,
        options=job.options,
        post_process=job.request.get("post_process", False),
    )


@transaction.atomic
def job_start(*, job: Job, enqueue: bool = True) -> Job:
    """Freeze the draft and queue it; the task is enqueued only once the row is committed.

    enqueue=False leaves running it to the caller (the CLI runs the job in its own process).
    """
    job = Job.objects.select_for_update().get(pk=job.pk)
    _require_draft(job)
    errors = job_request_errors(job)
    if errors:
        raise InvalidInstructionsError(errors)
    job.total_outputs = schema.total_outputs(job.instructions)
    job.estimated_credits = schema.credit_cost(job.instructions)
    job.save(update_fields=["total_outputs", "estimated_credits", "updated_at"])
    job_transition(job_id=job.pk, to=Job.Status.QUEUED)
    if enqueue:
        from packshots.tasks import job_process_task

        transaction.on_commit(partial(job_process_task.enqueue, job_id=job.pk))
    job.refresh_from_db()
    return job


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
    if job.is_terminal:
        raise JobStateError("This job has already finished.")
    moved = job_transition(job_id=job.pk, to=Job.Status.CANCELED, error_message="Canceled by a user.")
    if moved:
        job.results.filter(status__in=[Result.Status.PENDING, Result.Status.PROCESSING]).update(
            status=Result.Status.FAILED, error="Canceled"
        )
    return moved


def job_fail(*, job_id: int, message: str) -> bool:
    return job_transition(job_id=job_id, to=Job.Status.FAILED, error_message=message[:2000])


# ---------------------------------------------------------------- running a job on the local engine


def job_process(*, job_id: int, inline: bool = False) -> None:
    """Prepare every input once, create one pending result per output, then render them.

    Safe to repeat: a job that already moved past `queued` is resumed (missing outputs only).
    With inline=True the outputs render in this process (the CLI), otherwise one task each.
    """
    job_transition(job_id=job_id, to=Job.Status.SUBMITTING)
    job = Job.objects.get(pk=job_id)
    if job.status not in (Job.Status.SUBMITTING, Job.Status.RUNNING):
        return
    engine = get_render_engine(job.engine, threads=settings.PACKSHOT_LOCAL_THREADS)
    for upload in job.uploads.filter(cutout=""):
        with upload.file.open("rb") as f:
            original = f.read()
        try:
            prepared = engine.prepare(original, note=upload.note)
        except EngineError as exc:
            job_fail(job_id=job.pk, message=f"{upload.original_name}: {exc}")
            return
        upload.cutout.save("cutout.png", ContentFile(prepared.data), save=False)
        upload.confidence = prepared.confidence
        upload.needs_review = prepared.needs_review
        upload.save(update_fields=["cutout", "confidence", "needs_review"])
    with transaction.atomic():
        job_transition(job_id=job.pk, to=Job.Status.RUNNING)
        if not Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists():
            return  # canceled (or failed) while the photos were being prepared
        for index, instruction in enumerate(job.instructions):
            for variation in range(instruction.get("num_variations", 1)):
                Result.objects.get_or_create(
                    job=job, instruction_index=index, variation_index=variation, version=0
                )
    pending = list(job.results.filter(status=Result.Status.PENDING).values_list("pk", flat=True))
    if inline:
        for result_id in pending:
            result_render(result_id=result_id)
        return
    from packshots.tasks import result_render_task

    for result_id in pending:
        transaction.on_commit(partial(result_render_task.enqueue, result_id=result_id))


def result_render(*, result_id: int) -> None:
    """Render one output and report it through the event service (idempotent)."""
    # Claim only while the job runs, so a canceled job never has outputs stuck in "processing".
    claimed = Result.objects.filter(
        pk=result_id, status=Result.Status.PENDING, job__status=Job.Status.RUNNING
    ).update(status=Result.Status.PROCESSING, updated_at=timezone.now())
    result = Result.objects.select_related("job").get(pk=result_id)
    job = result.job
    if job.status != Job.Status.RUNNING or (not claimed and result.status != Result.Status.PROCESSING):
        return  # already done by a twin task, or the job was canceled
    engine = get_render_engine(job.engine, threads=settings.PACKSHOT_LOCAL_THREADS)
    inputs = []
    for upload in job.uploads.all():
        with upload.cutout.open("rb") as f:
            inputs.append(PreparedInput(f.read(), upload.confidence or 0.0, upload.needs_review, upload.note))
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


def result_fail(*, result_id: int, message: str) -> None:
    result = Result.objects.select_related("job").get(pk=result_id)
    engine_event_apply(
        source="local",
        event_id=f"result-{result.pk}-v{result.version}",
        job=result.job,
        name="image_result",
        data={"result_id": result.pk, "status": "failed", "error": message},
    )


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
            for result_id in stuck.values_list("pk", flat=True):
                result_render_task.enqueue(result_id=result_id)
        else:
            job_process_task.enqueue(job_id=job.pk)
        resumed.append(job.pk)
    return resumed


# ---------------------------------------------------------------- engine events


def engine_event_apply(*, source: str, event_id: str, job: Job | None, name: str, data: dict) -> bool:
    """Record an engine event once and apply it forward-only; False if it was seen before."""
    with transaction.atomic():
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
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        progress=min(100.0, 100.0 * len(done) / total)
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


# ---------------------------------------------------------------- downloads


def job_metadata(job: Job) -> dict:
    """The job's results in the shape of PiktID's /results JSON (what the official client saves)."""
    results = []
    for r in latest_results(job):
        results.append(
            {
                "job_id": str(job.pk),
                "group_index": r.instruction_index,
                "image_index": r.variation_index,
                "version": r.version,
                "status": r.status,
                "output_format": r.format or schema.output_format(job.instructions[r.instruction_index]),
                "download_filename": r.filename if r.status == Result.Status.COMPLETED else None,
                "width": r.width,
                "height": r.height,
                "model_used": r.model_used or None,
                "quality_score": r.confidence,
                "detail_needs_review": r.needs_review,
                "error_message": r.error or None,
                "created_at": r.created_at.isoformat(),
            }
        )
    completed = [r for r in results if r["status"] == "completed"]
    return {
        "job_id": str(job.pk),
        "job_type": "create_packshot",
        "status": job.status,
        "engine": job.engine,
        "project_text": job.project.name,
        "instructions": job.instructions,
        "options": job.options,
        "results": results,
        "summary": {
            "total_images": len(results),
            "successful": len(completed),
            "failed": sum(1 for r in results if r["status"] == "failed"),
        },
        "credits_used": job.estimated_credits if job.engine != "local" else 0,
    }


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are handed out as they are written (zipfile streams into it)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.chunks.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def zip_stream(job: Job) -> Iterator[bytes]:
    """Every completed output (latest versions) plus metadata.json, streamed without a temp file."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for result in latest_results(job):
            if result.status != Result.Status.COMPLETED:
                continue
            with result.image.open("rb") as src, archive.open(result.filename, "w", force_zip64=True) as dst:
                for chunk in iter(partial(src.read, 1 << 20), b""):
                    dst.write(chunk)
                    yield sink.drain()
        archive.writestr("metadata.json", json.dumps(job_metadata(job), indent=2))
    yield sink.drain()


def outputs_write(*, job: Job, folder) -> list[str]:
    """Write every completed output and metadata.json to a folder (the CLI's output)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in latest_results(job):
        if result.status == Result.Status.COMPLETED:
            with result.image.open("rb") as src:
                (folder / result.filename).write_bytes(src.read())
            written.append(result.filename)
    (folder / "metadata.json").write_text(json.dumps(job_metadata(job), indent=2))
    return written
