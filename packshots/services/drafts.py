"""The draft job: the wizard's state (photos, instructions, options) until it is started."""

import hashlib
import json
import tempfile
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from accounts.models import User
from packshots import imaging, queue
from packshots import instructions as schema
from packshots.engines import LOCAL, is_remote
from packshots.errors import (
    InvalidInputError,
    InvalidInstructionsError,
    JobStateError,
    PackshotError,
    UploadRejectedError,
)
from packshots.models import Job, Project, Upload
from packshots.services.connections import piktid_credentials
from packshots.services.jobs import job_transition
from packshots.services.library import preset_save

DEFAULT_REQUEST = {"instructions": [], "options": {"model": "auto"}, "post_process": False}
THUMBNAIL_SIDE = 480


# ---------------------------------------------------------------- the draft job (the wizard's state)


def job_draft_create(*, project: Project, author: User, engine: str | None = None) -> Job:
    """A new draft on the given engine, else the team's default, else the installation's (if it can run)."""
    if engine is None:
        engine = project.team.default_engine or settings.PACKSHOT_DEFAULT_ENGINE
        if is_remote(engine) and piktid_credentials(project.team) is None:
            engine = LOCAL
    return Job.objects.create(
        team=project.team,
        project=project,
        author=author,
        engine=engine,
        request=json.loads(json.dumps(DEFAULT_REQUEST)),
    )


def job_draft_for_user(*, project: Project, author: User) -> tuple[Job, bool]:
    """The author's newest empty draft in this project (no photos, no instructions), else a new one.

    Returns (job, reused). "New job" calls this so repeated clicks do not pile up empty drafts.
    """
    drafts = Job.objects.filter(
        project=project, author=author, status=Job.Status.DRAFT, uploads__isnull=True
    ).order_by("-created_at", "-pk")
    for draft in drafts[:20]:
        if not (draft.request or {}).get("instructions"):
            return draft, True
    return job_draft_create(project=project, author=author), False


def _require_draft(job: Job) -> None:
    if job.status != Job.Status.DRAFT:
        raise JobStateError("This job has already been started; its photos and instructions are fixed.")


def _lock_draft(job: Job) -> None:
    """Lock the job row until the transaction ends, reload `job` from it, and refuse unless it is a draft.

    Every change to a draft and Start go through here, so "still a draft?" and the limits are decided on the
    row as it is now, one request at a time (SQLite has no row locks: its IMMEDIATE transactions serialise
    writers instead). Call it inside transaction.atomic, before reading anything else of the job.
    """
    try:
        job.refresh_from_db(from_queryset=Job.objects.select_for_update())
    except Job.DoesNotExist:
        raise JobStateError("This draft has been discarded.") from None
    _require_draft(job)


def _locked_upload(upload: Upload) -> None:
    """Lock the photo's draft job and reload the photo, which a parallel request may have removed."""
    _lock_draft(Job(pk=upload.job_id))
    try:
        upload.refresh_from_db()
    except Upload.DoesNotExist:
        raise PackshotError("That photo is no longer in this job.") from None


def upload_add(*, job: Job, uploaded_by: User, file: File, note: str = "") -> Upload:
    """Check one photo and keep it without its personal metadata; a refused photo leaves nothing behind.

    The slow part (reading, decoding, storing) runs before the job row is locked; under the lock the draft
    state and the photo count are checked again and the row is inserted, so parallel uploads never pass the
    limit nor share an order, and a photo arriving after Start is refused and its files deleted.
    """
    name = file.name or "photo"
    _require_draft(job)
    if job.uploads.count() >= schema.MAX_IMAGES:
        raise UploadRejectedError(f"{name}: a job takes at most {schema.MAX_IMAGES} photos.")
    max_bytes = settings.PACKSHOT_MAX_UPLOAD_MB * 1024 * 1024
    if file.size is not None and file.size > max_bytes:
        raise UploadRejectedError(f"{name}: the file is over the {settings.PACKSHOT_MAX_UPLOAD_MB} MB limit.")
    if problem := schema.text_error(note, max_length=schema.MAX_NOTE_LENGTH):
        raise UploadRejectedError(f"{name}: the note {problem}.")
    upload = Upload(
        team_id=job.team_id,
        project_id=job.project_id,
        job=job,
        original_name=name[:255],
        note=note.strip(),
        uploaded_by=uploaded_by,
    )
    try:
        _store_photo(upload, file)
    except imaging.ImageError as exc:
        raise UploadRejectedError(f"{name}: {exc}") from exc
    try:
        with transaction.atomic():
            try:
                _lock_draft(job)
            except JobStateError as exc:
                raise UploadRejectedError(f"{name}: {exc}") from exc
            if job.uploads.count() >= schema.MAX_IMAGES:
                raise UploadRejectedError(f"{name}: a job takes at most {schema.MAX_IMAGES} photos.")
            last = job.uploads.aggregate(last=Max("order"))["last"]
            upload.order = 0 if last is None else last + 1
            upload.save()
    except BaseException:
        # Keep storage and database in step: no orphaned file for a row that never existed.
        _delete_files(upload)
        raise
    return upload


def _store_photo(upload: Upload, file: File) -> None:
    """Check the photo, then store it without metadata plus a thumbnail, filling the upload's file fields.

    Reads the upload in chunks from its (temporary) file: nothing holds the whole file, and only a JPEG's
    reduced-scale draft or a PNG/WebP once (within PACKSHOT_MAX_PIXELS) is decoded, for the thumbnail.
    """
    max_pixels = settings.PACKSHOT_MAX_PIXELS
    info = imaging.probe(file, max_pixels=max_pixels)
    thumb = imaging.thumbnail(imaging.load_image(file, max_pixels=max_pixels, max_side=THUMBNAIL_SIDE))
    with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as clean:
        imaging.strip_metadata(file, clean, format=info.format, orientation=info.orientation)
        # What we store is what we describe: checksum and size of the stripped file.
        digest, size = hashlib.sha256(), 0
        clean.seek(0)
        while chunk := clean.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
        upload.sha256, upload.bytes = digest.hexdigest(), size
        upload.width, upload.height, upload.content_type = info.width, info.height, info.content_type
        clean.seek(0)
        try:
            # Stored under the detected format's extension; the user's file name is kept only for display.
            upload.file.save(f"original.{info.format.lower()}", File(clean), save=False)
            upload.thumbnail.save("thumb.jpg", ContentFile(thumb), save=False)
        except BaseException:
            _delete_files(upload)
            raise


def _delete_files(upload: Upload) -> None:
    for stored in (upload.file, upload.thumbnail):
        if stored.name:
            stored.storage.delete(stored.name)


@transaction.atomic
def upload_update_note(*, upload: Upload, note: str) -> Upload:
    _locked_upload(upload)
    if problem := schema.text_error(note, max_length=schema.MAX_NOTE_LENGTH):
        raise UploadRejectedError(f"The note {problem}.")
    upload.note = note.strip()
    upload.save(update_fields=["note"])
    return upload


@transaction.atomic
def upload_make_main(*, upload: Upload) -> None:
    """Put a photo first: the local engine renders from the first photo unless a note names the view."""
    _locked_upload(upload)
    others = Upload.objects.filter(job_id=upload.job_id).exclude(pk=upload.pk).order_by("order", "pk")
    Upload.objects.filter(pk=upload.pk).update(order=0)
    for position, other in enumerate(others, start=1):
        Upload.objects.filter(pk=other.pk).update(order=position)


@transaction.atomic
def upload_move(*, upload: Upload, direction: str) -> None:
    """Move a photo one place earlier ("up") or later ("down") in its draft; at either end nothing moves."""
    if direction not in ("up", "down"):
        raise InvalidInputError({"direction": ["Move a photo up or down."]})
    _locked_upload(upload)
    photos = list(Upload.objects.filter(job_id=upload.job_id).order_by("order", "pk"))
    here = next(i for i, photo in enumerate(photos) if photo.pk == upload.pk)
    there = here - 1 if direction == "up" else here + 1
    if not 0 <= there < len(photos):
        return
    photos[here], photos[there] = photos[there], photos[here]
    for position, photo in enumerate(photos):
        Upload.objects.filter(pk=photo.pk).update(order=position)


@transaction.atomic
def upload_remove(*, upload: Upload) -> None:
    """Take a photo out of a draft job (its file goes too: no job ever used it)."""
    _locked_upload(upload)
    _upload_delete(upload)


def _upload_delete(upload: Upload) -> None:
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


def job_duplicate(*, job: Job, author: User) -> Job:
    """A new draft with the same photos (copied, so each job owns its originals), instructions and options.

    The source is read under its row lock (one consistent view of a job that may be changing); the files are
    copied after the lock is released, then the new draft is written in one transaction.
    """
    with transaction.atomic():
        source = Job.objects.select_for_update().get(pk=job.pk)
        uploads = list(source.uploads.all())
    draft = Job(
        team_id=source.team_id,
        project_id=source.project_id,
        author=author,
        engine=source.engine,
        request=source.request,
        total_outputs=source.total_outputs,
        estimated_credits=source.estimated_credits,
    )
    copies: list[Upload] = []
    try:
        for upload in uploads:
            copy = Upload(uploaded_by=author, **{f: getattr(upload, f) for f in _UPLOAD_COPIED_FIELDS})
            copies.append(copy)
            # The cutout comes along too: the same photo needs no second segmentation.
            for field in ("file", "thumbnail", "cutout"):
                stored = getattr(upload, field)
                if stored.name:
                    with stored.open("rb") as f:
                        getattr(copy, field).save(stored.name.rsplit("/", 1)[-1], File(f), save=False)
        with transaction.atomic():
            draft.save()
            for copy in copies:
                copy.job = draft
                copy.save()
    except FileNotFoundError:
        _delete_copies(copies)
        raise PackshotError("A photo of that job was removed while it was being copied; try again.") from None
    except BaseException:
        _delete_copies(copies)
        raise
    return draft


def _delete_copies(copies: list[Upload]) -> None:
    for copy in copies:
        for stored in (copy.file, copy.thumbnail, copy.cutout):
            if stored.name:
                stored.storage.delete(stored.name)


@transaction.atomic
def job_discard(*, job: Job) -> None:
    """Throw away a draft and its photos (a started job is never deleted from the app)."""
    _lock_draft(job)
    for upload in job.uploads.all():
        _upload_delete(upload)
    job.delete()


def _instructions_save(job: Job, instructions: list[dict]) -> Job:
    """Validate and store the whole list on the locked, freshly read job."""
    errors = schema.validate_job(instructions=instructions) if instructions else {}
    if errors:
        raise InvalidInstructionsError(errors)
    job.request = {**job.request, "instructions": [schema.normalize_instruction(i) for i in instructions]}
    job.total_outputs = schema.total_outputs(job.instructions)
    job.estimated_credits = schema.credit_cost(job.instructions)
    job.save(update_fields=["request", "total_outputs", "estimated_credits", "updated_at"])
    return job


@transaction.atomic
def job_set_instructions(*, job: Job, instructions: list[dict]) -> Job:
    _lock_draft(job)
    return _instructions_save(job, instructions)


@transaction.atomic
def job_add_instructions(
    *, job: Job, instructions: list[dict], share_as: str = "", author: User | None = None
) -> Job:
    """Append instructions to a draft; with share_as, the (single) instruction also becomes a team preset.

    The list is read and written under the job's lock, so parallel additions all land.
    """
    _lock_draft(job)
    if share_as.strip() and author is not None:
        # First, so a refused preset (name taken) leaves the job as it was, in the database and in `job`.
        for instruction in instructions:
            preset_save(team=job.team, author=author, name=share_as, instruction=instruction, categories=[])
    return _instructions_save(job, job.instructions + list(instructions))


@transaction.atomic
def job_replace_instruction(*, job: Job, index: int, instruction: dict) -> Job:
    _lock_draft(job)
    current = job.instructions
    if not 0 <= index < len(current):
        raise PackshotError("That instruction is no longer in this job.")
    current[index] = instruction
    return _instructions_save(job, current)


@transaction.atomic
def job_remove_instruction(*, job: Job, index: int) -> Job:
    _lock_draft(job)
    current = job.instructions
    if not 0 <= index < len(current):
        raise PackshotError("That instruction is no longer in this job.")
    del current[index]
    return _instructions_save(job, current)


@transaction.atomic
def job_set_options(*, job: Job, engine: str, options: dict, post_process: bool) -> Job:
    _lock_draft(job)
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
    errors = schema.validate_job(
        instructions=job.instructions,
        images=images,
        options=job.options,
        post_process=job.request.get("post_process", False),
    )
    limit = settings.PACKSHOT_MAX_JOB_MEGAPIXELS
    if (
        not errors
        and job.engine == Job.Engine.LOCAL
        and (pixels := schema.total_megapixels(job.instructions)) > limit
    ):
        # One team's huge job must not hold the workers for everyone: split it (or use fewer/smaller outputs).
        errors["instructions"] = [
            f"this job would render {pixels:,.0f} megapixels; a job on the local engine may render at most "
            f"{limit:,} (fewer variations, a smaller size, or several jobs)"
        ]
    return errors


@transaction.atomic
def job_start(*, job: Job, enqueue: bool = True) -> Job:
    """Freeze the draft and queue it; the task is enqueued only once the row is committed.

    enqueue=False leaves running it to the caller (the CLI runs the job in its own process).
    """
    _lock_draft(job)
    errors = job_request_errors(job)
    if errors:
        raise InvalidInstructionsError(errors)
    from batches.credits import budget_check  # the team's monthly PiktID budget (batches app)

    budget_check(job)  # a PiktID job past the budget is refused in plain words (PackshotError)
    # What is announced (outputs, credits) is computed from the very row that changes state, under its lock.
    job_transition(
        job_id=job.pk,
        to=Job.Status.QUEUED,
        total_outputs=schema.total_outputs(job.instructions),
        estimated_credits=schema.credit_cost(job.instructions),
    )
    if enqueue:
        queue.enqueue("piktid_submit_task" if is_remote(job.engine) else "job_process_task", job_id=job.pk)
    job.refresh_from_db()
    return job
