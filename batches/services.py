"""Batches: files in, SKUs checked (in tasks), one job per SKU started, retried, exported as one ZIP.

Every job goes through packshots' own services (upload_add, job_set_instructions, job_set_options,
job_start), so a batch's jobs are ordinary jobs: same checks, same engines, same PiktID limiter.
"""

import json
import logging
import zipfile
from collections.abc import Iterator
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import Team, User
from batches import archive
from batches.models import Batch, BatchFile, Sku
from batches.naming import (
    NamingError,
    clean_path,
    group_by_sku,
    is_hidden,
    naming_errors,
    pattern_regex,
    printable,
    render_name,
)
from packshots import instructions as schema
from packshots import queue
from packshots.engines import is_remote
from packshots.errors import InvalidInputError, InvalidInstructionsError, PackshotError
from packshots.models import Job, Project, Result
from packshots.selectors import latest_results
from packshots.services.connections import piktid_credentials
from packshots.services.downloads import _Sink
from packshots.services.drafts import (
    job_discard,
    job_draft_create,
    job_duplicate,
    job_set_instructions,
    job_set_options,
    job_start,
    upload_add,
)
from packshots.services.library import project_create

log = logging.getLogger(__name__)


def limits() -> archive.Limits:
    return archive.Limits(
        max_entries=getattr(settings, "BATCH_MAX_FILES", 3000),
        max_total_bytes=getattr(settings, "BATCH_MAX_UNPACKED_MB", 8192) * 2**20,
        max_file_bytes=settings.PACKSHOT_MAX_UPLOAD_MB * 2**20,
    )


def zip_cap() -> int:
    """The largest ZIP a batch upload may send, in bytes (enforced while the body streams in)."""
    return getattr(settings, "BATCH_MAX_ZIP_MB", 2048) * 2**20


def max_skus() -> int:
    return getattr(settings, "BATCH_MAX_SKUS", 500)


# ---------------------------------------------------------------- creating a batch


def batch_create(
    *,
    team: Team,
    author: User,
    name: str,
    project_name: str,
    source: str,
    sku_pattern: str = "",
) -> Batch:
    """A batch waiting for its files, in the named project (made when it does not exist)."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if problem := schema.text_error(name, max_length=120) or (None if name else "is required"):
        errors["name"] = [f"The name {problem}."]
    if source not in Batch.Source.values:
        errors["source"] = ["Choose a ZIP, a folder or files named by SKU."]
    if source == Batch.Source.FILES or sku_pattern.strip():
        try:
            if problem := schema.text_error(sku_pattern, max_length=200):
                raise NamingError(f"The pattern {problem}")
            pattern_regex(sku_pattern)
        except NamingError as exc:
            errors["sku_pattern"] = [str(exc)]
    if problem := schema.text_error(project_name.strip(), max_length=120) or (
        None if project_name.strip() else "is required"
    ):
        errors["project"] = [f"The project name {problem}."]
    if errors:
        raise InvalidInputError(errors)
    project = Project.objects.filter(team=team, name__iexact=project_name.strip()).first()
    if project is None:
        project = project_create(team=team, created_by=author, name=project_name)
    return Batch.objects.create(
        team=team,
        project=project,
        author=author,
        name=name,
        source=source,
        sku_pattern="" if source == Batch.Source.FOLDER else sku_pattern.strip(),
    )


def batch_store_archive(*, batch: Batch, file: File) -> Batch:
    """Keep the uploaded ZIP and ask a worker to unpack and check it (nothing is unpacked here)."""
    if batch.status != Batch.Status.RECEIVING:
        raise PackshotError("This batch has already received its files.")
    if file.size is not None and file.size > zip_cap():
        raise PackshotError(f"The ZIP is over the {zip_cap() // 2**20:,} MB limit for a batch.")
    batch.archive.save("upload.zip", file, save=False)
    with transaction.atomic():
        batch.status = Batch.Status.CHECKING
        batch.save(update_fields=["archive", "status"])
        queue.enqueue("batch_check_task", batch_id=batch.pk)
    return batch


def batch_add_files(*, batch: Batch, files: list[tuple[str, File]]) -> list[str]:
    """Keep raw files of a folder or files upload (checked later, in a task); returns refusals per file."""
    if batch.status != Batch.Status.RECEIVING:
        raise PackshotError("This batch is no longer receiving files.")
    refused = []
    cap = limits()
    room = cap.max_entries - batch.files.count()
    for raw, file in files:
        path = clean_path(raw[:500])
        if path is None:
            refused.append(f"{printable(raw)}: a name that points outside the folder; not kept.")
            continue
        if room <= 0:
            refused.append(f"{path}: a batch takes at most {cap.max_entries:,} files.")
            continue
        if file.size is not None and file.size > cap.max_file_bytes:
            refused.append(f"{path}: over the {cap.max_file_bytes // 2**20} MB limit for a photo.")
            continue
        row = BatchFile(batch=batch, path=path[:500])
        row.file.save("incoming", file, save=False)
        row.save()
        room -= 1
    return refused


@transaction.atomic
def batch_files_done(*, batch: Batch) -> Batch:
    """The folder or files upload is complete: check the photos in a task."""
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != Batch.Status.RECEIVING:
        raise PackshotError("This batch has already received its files.")
    if not batch.files.exists():
        raise PackshotError("No file has arrived yet: choose the folder or files first.")
    batch.status = Batch.Status.CHECKING
    batch.save(update_fields=["status"])
    queue.enqueue("batch_check_task", batch_id=batch.pk)
    return batch


# ---------------------------------------------------------------- checking (a task)


def batch_check(*, batch_id: int) -> None:
    """Unpack or gather the batch's files, sort them into SKUs and check each photo into the SKU's draft job.

    Runs on a worker. Restartable: a run that died half-way is redone from the files (drafts made by the
    earlier run are discarded first).
    """
    batch = Batch.objects.get(pk=batch_id)
    if batch.status != Batch.Status.CHECKING:
        return
    _discard_skus(batch)
    report: list[dict] = []
    try:
        if batch.source == Batch.Source.ZIP:
            _check_zip(batch, report)
        else:
            _check_files(batch, report)
    except archive.ArchiveError as exc:
        _discard_skus(batch)  # all or nothing: a refused archive leaves no half-made SKUs behind
        _finish_check(batch, report, error=str(exc))
        return
    _finish_check(batch, report)


def _discard_skus(batch: Batch) -> None:
    for sku in batch.skus.select_related("job"):
        if sku.job is not None and sku.job.status == Job.Status.DRAFT:
            job_discard(job=sku.job)
    batch.skus.all().delete()


def _check_zip(batch: Batch, report: list[dict]) -> None:
    cap = limits()
    with batch.archive.open("rb") as fp:
        zf = archive.open_zip(fp)
        usable, skipped = archive.entries(zf, cap)
        report.extend({"path": p, "message": m} for p, m in skipped.items())
        by_path = {e.path: e for e in usable}
        unpacker = archive.Unpacker(zf, cap)

        def opener(path: str):
            return unpacker.open(by_path[path])

        _check_groups(batch, list(by_path), opener, report)


def _check_files(batch: Batch, report: list[dict]) -> None:
    rows = {}
    for row in batch.files.all():
        path = clean_path(row.path)
        if path is None:
            report.append(
                {"path": row.path[:200], "message": "a name that points outside the folder; ignored"}
            )
        elif not is_hidden(path):
            rows.setdefault(path, row)

    def opener(path: str):
        return rows[path].file.open("rb")

    _check_groups(batch, list(rows), opener, report)


def _check_groups(batch: Batch, paths: list[str], opener, report: list[dict]) -> None:
    skus, unplaced = group_by_sku(paths, pattern=batch.sku_pattern)
    report.extend({"path": p, "message": m} for p, m in unplaced.items())
    if len(skus) > max_skus():
        raise archive.ArchiveError(
            f"This batch has {len(skus):,} SKUs; a batch takes at most {max_skus():,}."
        )
    photos = 0
    for name, sku_paths in skus.items():
        sku = Sku.objects.create(batch=batch, name=name)
        job = job_draft_create(project=batch.project, author=batch.author, engine=Job.Engine.LOCAL)
        sku.job = job
        kept = extra = 0
        for path in sku_paths:
            if kept >= schema.MAX_IMAGES:  # the first 10 usable photos by name
                report.append({"path": path, "message": f"not used: {name} already has 10 photos"})
                extra += 1
                continue
            try:
                with opener(path) as fp:
                    upload_add(job=job, uploaded_by=batch.author, file=File(fp, name=path.rsplit("/", 1)[-1]))
                kept += 1
            except archive.EntryError as exc:
                report.append({"path": path, "message": str(exc)})
            except PackshotError as exc:
                # upload_add names the file itself: "photo.txt: This file is not an image …"
                report.append({"path": path, "message": str(exc).split(": ", 1)[-1]})
        if extra:
            sku.warnings = [
                f"More than {schema.MAX_IMAGES} photos; a job takes at most {schema.MAX_IMAGES}: "
                f"used the first {schema.MAX_IMAGES} by name ({extra} not used)."
            ]
        photos += kept
        if not kept:
            job_discard(job=job)
            sku.job = None
            sku.status = Sku.Status.REJECTED
            sku.error = "None of its files is a photo we can use (see the files not used below)."
        sku.save()
    batch.photo_count = photos


def _finish_check(batch: Batch, report: list[dict], error: str = "") -> None:
    batch.report = [{"path": printable(r["path"]), "message": r["message"]} for r in report[:2000]]
    batch.sku_count = batch.skus.count()
    if not error and not batch.skus.filter(status=Sku.Status.READY).exists():
        error = "No SKU with a usable photo was found in these files."
    batch.error = error
    batch.status = Batch.Status.FAILED if error else Batch.Status.READY
    batch.save(update_fields=["report", "sku_count", "photo_count", "error", "status"])
    # The photos now live in the SKUs' jobs; the raw upload is not needed any more.
    if batch.archive.name:
        batch.archive.delete(save=True)
    for row in batch.files.all():
        row.file.delete(save=False)
        row.delete()


# ---------------------------------------------------------------- starting, retrying


def batch_start(
    *,
    batch: Batch,
    instructions: list[dict],
    engine: str,
    naming_template: str,
    options: dict | None = None,
    post_process: bool = False,
) -> Batch:
    """Fix the instructions (chosen once) and the engine, then start one job per SKU in a task."""
    errors: dict[str, list[str]] = {}
    if not instructions:
        errors["instructions"] = ["Pick at least one preset or give an instructions JSON."]
    else:
        errors.update(schema.validate_job(instructions=instructions, options=options or {"model": "auto"}))
    if engine not in Job.Engine.values:
        errors["engine"] = ["Choose an engine."]
    elif is_remote(engine) and piktid_credentials(batch.team) is None:
        errors["engine"] = ["This team has no PiktID connection: connect it in Team settings first."]
    if problem := naming_errors(naming_template):
        errors["naming_template"] = [problem]
    if errors:
        raise InvalidInstructionsError(errors)
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != Batch.Status.READY:
            raise PackshotError("This batch is not ready to start (it has started already, or has no SKU).")
        locked.instructions = [schema.normalize_instruction(i) for i in instructions]
        locked.options = {"model": "auto", **(options or {}), "post_process": post_process}
        locked.engine = engine
        locked.naming_template = naming_template.strip()
        locked.status = Batch.Status.STARTING
        locked.started_at = timezone.now()
        locked.save()
        queue.enqueue("batch_start_task", batch_id=batch.pk)
    return locked


def active_jobs_cap(batch: Batch) -> int:
    """How many of a batch's jobs may be queued or running at once (PiktID's own limiter paces the rest)."""
    if is_remote(batch.engine):
        return 2 * settings.PIKTID_ACTIVE_LIMIT
    return getattr(settings, "BATCH_ACTIVE_JOBS", 4)


def batch_start_jobs(*, batch_id: int) -> bool:
    """Start checked SKUs' jobs (a task); returns True while SKUs are left waiting for a free slot.

    With a worker that can run tasks later, at most `active_jobs_cap` of the batch's jobs are in the queue at
    once and the task feeds more as they end: the first SKUs' outputs arrive while later SKUs wait, instead of
    every output waiting behind every other SKU's photo preparation. A refused SKU (e.g. the budget) is marked
    with the reason.
    """
    batch = Batch.objects.get(pk=batch_id)
    if batch.status not in (Batch.Status.STARTING, Batch.Status.RUNNING):
        return False
    waiting = batch.skus.filter(status=Sku.Status.READY).select_related("job")
    if queue.supports_later():
        active = batch.skus.filter(
            status=Sku.Status.STARTED,
            job__status__in=(Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING),
        ).count()
        waiting = waiting[: max(0, active_jobs_cap(batch) - active)]
    for sku in waiting:
        _start_sku(batch, sku)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RUNNING)
    return batch.skus.filter(status=Sku.Status.READY).exists()


def _start_sku(batch: Batch, sku: Sku) -> None:
    options = {k: v for k, v in batch.options.items() if k != "post_process"}
    try:
        job = sku.job
        if job.status == Job.Status.DRAFT:
            job = job_set_instructions(job=job, instructions=batch.instructions)
            job = job_set_options(
                job=job,
                engine=batch.engine,
                options=options,
                post_process=batch.options.get("post_process", False),
            )
            job_start(job=job)
    except PackshotError as exc:
        sku.status, sku.error = Sku.Status.BLOCKED, str(exc)
    else:
        sku.status, sku.error = Sku.Status.STARTED, ""
    sku.attempts += 1
    sku.save(update_fields=["status", "error", "attempts"])


def batch_retry_failed(*, batch: Batch, author: User) -> int:
    """Run the failed SKUs again: a failed job is copied into a new one (same photos and instructions)."""
    if batch.status not in (Batch.Status.RUNNING, Batch.Status.FINISHED):
        raise PackshotError("Only a started batch has SKUs to retry.")
    retried = 0
    for sku in batch.skus.select_related("job"):
        job = sku.job
        if job is None:
            continue
        if sku.status == Sku.Status.BLOCKED:
            _start_sku(batch, sku)
            retried += 1
        elif job.status in (Job.Status.FAILED, Job.Status.CANCELED):
            draft = job_duplicate(job=job, author=author)
            sku.job = draft
            sku.save(update_fields=["job"])
            _start_sku(batch, sku)
            retried += 1
    if not retried:
        raise PackshotError("No SKU of this batch has failed.")
    return retried


# ---------------------------------------------------------------- export


def batch_entries(batch: Batch) -> Iterator[tuple[str, Result, Sku]]:
    """(name in the ZIP, result, SKU) for every completed output of the batch (latest versions)."""
    used: set[str] = set()
    for sku in batch.skus.select_related("job"):
        if sku.job is None or sku.status != Sku.Status.STARTED:
            continue
        instructions = sku.job.instructions
        for result in latest_results(sku.job):
            if result.status != Result.Status.COMPLETED:
                continue
            instruction = instructions[result.instruction_index]
            name = render_name(
                batch.naming_template,
                sku=sku.name,
                style=instruction.get("style", ""),
                instruction=result.instruction_index + 1,
                variation=result.variation_index + 1,
                version=result.version,
                ext=result.filename.rsplit(".", 1)[-1],
                job=sku.job.pk,
            )
            if name in used:  # two instructions of one style under a template without {instruction}
                stem, ext = name.rsplit(".", 1)
                name = f"{stem}_{result.instruction_index + 1}.{ext}"
            used.add(name)
            yield name, result, sku


def batch_summary(batch: Batch) -> dict:
    """batch.json in the ZIP: per SKU its status, outputs and errors, like the CLI's batch summary."""
    from batches.selectors import sku_rows

    return {
        "batch": batch.name,
        "engine": batch.engine,
        "instructions": batch.instructions,
        "naming_template": batch.naming_template,
        "results": [
            {
                "sku": row["sku"].name,
                "job_id": row["job"].pk if row["job"] else None,
                "status": row["status"],
                "outputs": row["done"],
                "error": row["error"] or None,
            }
            for row in sku_rows(batch)
        ],
    }


def batch_zip_stream(batch: Batch) -> Iterator[bytes]:
    """Every completed output named by the batch's template, plus batch.json, streamed without a temp file."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as out:
        for name, result, _sku in batch_entries(batch):
            with result.image.open("rb") as src, out.open(name, "w", force_zip64=True) as dst:
                for chunk in iter(partial(src.read, 1 << 20), b""):
                    dst.write(chunk)
                    yield sink.drain()
        out.writestr("batch.json", json.dumps(batch_summary(batch), indent=2))
    yield sink.drain()
