"""The draft job: the wizard's state (photos, instructions, options) until it is started."""

import hashlib
import json
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import User
from packshots import imaging, queue
from packshots import instructions as schema
from packshots.engines import is_remote
from packshots.errors import InvalidInstructionsError, JobStateError, PackshotError, UploadRejectedError
from packshots.models import Job, Project, Upload
from packshots.services.jobs import job_transition
from packshots.services.library import preset_save

DEFAULT_REQUEST = {"instructions": [], "options": {"model": "auto"}, "post_process": False}


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


@transaction.atomic
def upload_make_main(*, upload: Upload) -> None:
    """Put a photo first: the local engine renders from the first photo unless a note names the view."""
    _require_draft(upload.job)
    others = upload.job.uploads.exclude(pk=upload.pk).order_by("order", "pk")
    Upload.objects.filter(pk=upload.pk).update(order=0)
    for position, other in enumerate(others, start=1):
        Upload.objects.filter(pk=other.pk).update(order=position)


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


def job_replace_instruction(*, job: Job, index: int, instruction: dict) -> Job:
    current = job.instructions
    if not 0 <= index < len(current):
        raise PackshotError("That instruction is no longer in this job.")
    current[index] = instruction
    return job_set_instructions(job=job, instructions=current)


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
        queue.enqueue("piktid_submit_task" if is_remote(job.engine) else "job_process_task", job_id=job.pk)
    job.refresh_from_db()
    return job
