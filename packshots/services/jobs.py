"""Running jobs: the state machines, the local engine's work, engine events, recovery."""

import logging
from collections import Counter
from contextlib import suppress
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from packshots import queue
from packshots.engines import get_render_engine, is_remote
from packshots.engines.base import EngineError, OutputEvent, PreparedInput
from packshots.errors import JobStateError
from packshots.models import JOB_TRANSITIONS, RESULT_TRANSITIONS, EngineEvent, Job, QueueLock, Result
from packshots.selectors import latest_results
from packshots.services.compliance import result_compliance_store

log = logging.getLogger(__name__)

ACTIVE_STATES = (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING)
OUTCOME_STATES = (
    Job.Status.COMPLETED,
    Job.Status.NEEDS_REVIEW,
    Job.Status.PARTIALLY_FAILED,
    Job.Status.FAILED,
)

# ---------------------------------------------------------------- the state machines


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


def result_transition(*, result_id: int, to: str, job_status: str | None = None, **fields) -> bool:
    """Move one output to `to` if its lifecycle allows it (with job_status: only while the job is in it)."""
    sources = [src for src, targets in RESULT_TRANSITIONS.items() if to in targets]
    rows = Result.objects.filter(pk=result_id, status__in=sources)
    if job_status is not None:
        rows = rows.filter(job__status=job_status)
    return rows.update(status=to, updated_at=timezone.now(), **fields) == 1


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
    with transaction.atomic():
        moved = job_transition(job_id=job_id, to=to, error_message=message[:2000], waiting_reason="")
        if moved:
            unfinished = [Result.Status.PENDING, Result.Status.PROCESSING]
            for result_id in Result.objects.filter(job_id=job_id, status__in=unfinished).values_list(
                "pk", flat=True
            ):
                result_transition(result_id=result_id, to=Result.Status.FAILED, error=result_error)
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
        results_create(job=job)
        pending = list(job.results.filter(status=Result.Status.PENDING).values_list("pk", flat=True))
        if not enqueue:  # the caller renders them itself: the fair queue must not hand them to a worker too
            Result.objects.filter(pk__in=pending).update(dispatched_at=timezone.now())
    if enqueue:
        results_dispatch()  # the fair queue hands them to the workers, a few at a time per team
    return pending


def results_dispatch() -> int:
    """Hand waiting outputs of local jobs to the task queue fairly; returns how many it handed over.

    Round-robin across teams (the team with the fewest outputs in flight first) and across the jobs of a
    team, with at most PACKSHOT_TEAM_CONCURRENT_OUTPUTS of one team's outputs queued or rendering at once: one
    team's 80-output job never holds every worker while another team's single output waits behind it.
    Called when a job's outputs are created and whenever a render ends; decided under one row lock.
    """
    limit = settings.PACKSHOT_TEAM_CONCURRENT_OUTPUTS
    with suppress(IntegrityError):
        QueueLock.objects.get_or_create(name="dispatch")
    with transaction.atomic():
        QueueLock.objects.select_for_update().get(name="dispatch")
        live = Result.objects.filter(
            job__engine=Job.Engine.LOCAL, job__status__in=[Job.Status.RUNNING, *OUTCOME_STATES]
        )
        busy = live.filter(
            Q(status=Result.Status.PROCESSING) | Q(status=Result.Status.PENDING, dispatched_at__isnull=False)
        )
        in_flight = Counter(busy.values_list("job__team_id", flat=True))
        waiting: dict[int, dict[int, list[int]]] = {}
        for pk, job_id, team_id in (
            live.filter(status=Result.Status.PENDING, dispatched_at__isnull=True)
            .order_by("job__started_at", "job_id", "version", "instruction_index", "variation_index")
            .values_list("pk", "job_id", "job__team_id")
        ):
            waiting.setdefault(team_id, {}).setdefault(job_id, []).append(pk)
        chosen = []
        while any(in_flight[team] < limit and jobs for team, jobs in waiting.items()):
            for team in sorted(waiting, key=lambda t: in_flight[t]):
                jobs = waiting[team]
                if in_flight[team] >= limit or not jobs:
                    continue
                job_id = next(iter(jobs))  # the team's jobs take turns: this one goes to the back
                pks = jobs.pop(job_id)
                chosen.append(pks.pop(0))
                if pks:
                    jobs[job_id] = pks
                in_flight[team] += 1
        Result.objects.filter(pk__in=chosen).update(dispatched_at=timezone.now())
        for result_id in chosen:
            queue.enqueue("result_render_task", result_id=result_id)
    return len(chosen)


def results_create(*, job: Job) -> None:
    """One pending result (version 0) per output the job's instructions announce; existing ones are kept."""
    for index, instruction in enumerate(job.instructions):
        for variation in range(instruction.get("num_variations", 1)):
            Result.objects.get_or_create(
                job=job, instruction_index=index, variation_index=variation, version=0
            )


def result_render(*, result_id: int) -> None:
    """Render one output on the local engine and report it through the event service (idempotent)."""
    # Claim only while the job runs, so a canceled job never has outputs stuck in "processing". A regenerated
    # output of a finished job renders too: its job is no longer running but the new version is pending.
    result = Result.objects.select_related("job").get(pk=result_id)
    job = result.job
    job_status = Job.Status.RUNNING if job.status == Job.Status.RUNNING else job.status
    if job_status not in (Job.Status.RUNNING, *OUTCOME_STATES) or not result_transition(
        result_id=result_id, to=Result.Status.PROCESSING, job_status=job_status
    ):
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
    # A regenerated version is a new draw of the same instruction: its own seed, still reproducible. After a
    # cutout repair it keeps the draw of the version it replaces (seed_version), so only the cutout changes.
    draw = result.version if result.seed_version is None else result.seed_version
    seed = int(seed) + 7919 * draw
    slot = {
        "instruction_index": result.instruction_index,
        "variation_index": result.variation_index,
        "version": result.version,
    }
    source, event_id = (
        "local",
        f"job-{job.pk}-{result.instruction_index}-{result.variation_index}-v{result.version}",
    )
    try:
        output = engine.render(inputs, instruction, variation=result.variation_index, seed=seed)
    except EngineError as exc:
        engine_event_apply(
            source=source,
            event_id=event_id,
            job_id=job.pk,
            output=OutputEvent(**slot, status="failed", error=str(exc)),
        )
        return
    output_store_and_apply(
        job=job,
        source=source,
        event_id=event_id,
        data=output.data,
        thumbnail=output.thumbnail,
        event=OutputEvent(
            **slot,
            status="completed",
            width=output.width,
            height=output.height,
            format=output.format,
            bytes=len(output.data),
            model_used=output.model_used,
            confidence=output.confidence,
            needs_review=output.needs_review,
            warnings=tuple(output.warnings),
        ),
    )


def result_fail(*, result_id: int, message: str) -> None:
    """Fail one output with a message (a crash at the task boundary), through the event service."""
    result = Result.objects.get(pk=result_id)
    engine_event_apply(
        source="crash",
        event_id=f"result-{result.pk}-v{result.version}",
        job_id=result.job_id,
        output=OutputEvent(
            result.instruction_index, result.variation_index, result.version, status="failed", error=message
        ),
    )


def output_store_and_apply(
    *, job: Job, source: str, event_id: str, data: bytes | FieldFile, thumbnail: bytes, event: OutputEvent
) -> bool:
    """Copy an output's files into our storage, then apply its event; files nobody took are removed again.

    The copy happens outside any lock; only the event takes the job's row lock.
    """
    fmt = event.format or "jpg"
    name = f"output_{event.instruction_index}_{event.variation_index}_v{event.version}.{fmt}"
    image_name = default_storage.save(
        _result_path(job, name), data if not isinstance(data, bytes) else ContentFile(data)
    )
    thumb_name = default_storage.save(_result_path(job, f"thumb_{name}.jpg"), ContentFile(thumbnail))
    applied = engine_event_apply(
        source=source,
        event_id=event_id,
        job_id=job.pk,
        output=OutputEvent(**{**event.__dict__, "image": image_name, "thumbnail": thumb_name}),
    )
    result_id = (
        applied and Result.objects.filter(job=job, image=image_name).values_list("pk", flat=True).first()
    )
    if result_id:
        # Checked once, here: outside the job's lock, and it never fails the output (errors are stored).
        result_compliance_store(result_id=result_id)
        return True
    # A twin run got there first, or the job was canceled meanwhile: drop our copy.
    default_storage.delete(image_name)
    default_storage.delete(thumb_name)
    return False


def _read(field: FieldFile) -> bytes:
    with field.open("rb") as f:
        return f.read()


def _result_path(job: Job, name: str) -> str:
    return f"teams/{job.team_id}/results/job_{job.pk}/{name}"


def result_regenerate_local(*, result: Result, same_seed: bool = False, render: bool = True) -> Result:
    """A new version of one output of a finished local job (a new seed); earlier versions are kept.

    same_seed: keep the newest version's draw (a repaired cutout). render=False: the caller enqueues the
    render itself once the new version's input is ready (the new version stays pending until then).
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=result.job_id)
        if job.status not in OUTCOME_STATES:
            raise JobStateError("Outputs can be regenerated once the job has finished.")
        newest = _newest_version(job, result.instruction_index, result.variation_index)
        if newest.status not in (Result.Status.COMPLETED, Result.Status.FAILED):
            raise JobStateError("This output is already being regenerated.")
        fresh = Result.objects.create(
            job=job,
            instruction_index=result.instruction_index,
            variation_index=result.variation_index,
            version=newest.version + 1,
            seed_version=(newest.version if newest.seed_version is None else newest.seed_version)
            if same_seed
            else None,
        )
        if render:
            queue.enqueue("result_render_task", result_id=fresh.pk)
    return fresh


def _newest_version(job: Job, instruction_index: int, variation_index: int) -> Result:
    return (
        Result.objects.filter(job=job, instruction_index=instruction_index, variation_index=variation_index)
        .order_by("-version")
        .first()
    )


def jobs_resume(*, stale_after: timedelta) -> list[int]:
    """Re-enqueue the work of jobs that stopped moving (a worker died mid-task); returns their ids.

    Safe because every step is idempotent: a result already rendered is skipped, a duplicate event is dropped.
    Remote jobs are handed to their engine's recovery (reconcile before anything is re-sent).
    """
    cutoff = timezone.now() - stale_after
    resumed = []
    for job in Job.objects.filter(status__in=ACTIVE_STATES, updated_at__lt=cutoff):
        if is_remote(job.engine):
            queue.enqueue("piktid_recover_task", job_id=job.pk)
        elif job.status == Job.Status.RUNNING:
            _job_resume_renders(job, cutoff)
        else:
            queue.enqueue("job_process_task", job_id=job.pk)
        resumed.append(job.pk)
    return resumed


def _job_resume_renders(job: Job, cutoff) -> None:
    stuck = job.results.filter(
        status__in=[Result.Status.PENDING, Result.Status.PROCESSING], updated_at__lt=cutoff
    ).values_list("pk", flat=True)
    for result_id in list(stuck):
        # A crashed render's claim is released and the output waits its turn in the fair queue again.
        result_transition(result_id=result_id, to=Result.Status.PENDING)
        Result.objects.filter(pk=result_id).update(dispatched_at=None)
    results_dispatch()
    with transaction.atomic():  # closes a job whose outputs are all done but which never closed
        _job_refresh_progress(Job.objects.select_for_update().get(pk=job.pk))


# ---------------------------------------------------------------- engine events


def engine_event_apply(
    *,
    source: str,
    event_id: str,
    job_id: int | None,
    output: OutputEvent | None = None,
    name: str = "image_result",
    payload: dict | None = None,
) -> bool:
    """Record an engine event once and apply its output forward-only; False if it was seen before.

    Both engines report every output here as an `OutputEvent`; other events (a PiktID `batch_edit`, a
    webhook `ping`) are only recorded. Runs under the job's row lock: no file transfer in here.
    """
    with transaction.atomic():
        job = None
        if job_id is not None and output is not None:
            # One output at a time per job: two outputs finishing together must not both count N-1 of N done
            # and leave the job running forever (PostgreSQL with several workers). An event without an
            # output (a notification) changes no output and takes no lock: webhooks stay fast.
            job = Job.objects.select_for_update().get(pk=job_id)
        payload = payload if payload is not None else (output.__dict__ if output else {})
        if not engine_event_record(
            source=source, event_id=event_id, job_id=job_id, name=name, payload=payload
        ):
            return False
        if job_id is not None:
            Job.objects.filter(pk=job_id).update(last_event_at=timezone.now())
        if job is not None:
            _apply_output(job, output)
    return True


def engine_event_record(*, source: str, event_id: str, job_id: int | None, name: str, payload: dict) -> bool:
    """Insert an event row unless (source, event_id) is known; False for a repeat. No lock, no savepoint.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING` (PostgreSQL and SQLite ≥ 3.35): a repeat neither raises
    nor aborts the caller's transaction, so a webhook records its event, touches its job and queues its
    tasks in one short transaction. The job is looked up inside the INSERT: a job deleted since its id was
    found (callers cache it) leaves the event without a job instead of breaking the foreign key.
    """
    meta = EngineEvent._meta
    values = {
        "source": source,
        "event_id": event_id[:200],
        "job": job_id,
        "name": name[:50],
        "payload": payload,
        "received_at": timezone.now(),
    }
    db = connections[router.db_for_write(EngineEvent)]
    quote = db.ops.quote_name
    fields = [meta.get_field(field) for field in values]
    columns = ", ".join(quote(field.column) for field in fields)
    job_table, job_pk = quote(Job._meta.db_table), quote(Job._meta.pk.column)
    placeholders = [
        f"(SELECT {job_pk} FROM {job_table} WHERE {job_pk} = %s)" if field.name == "job" else "%s"
        for field in fields
    ]
    unique = ", ".join(quote(meta.get_field(field).column) for field in ("source", "event_id"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(placeholders)}) "
        f"ON CONFLICT ({unique}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(value, db) for field, value in zip(fields, values.values(), strict=True)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


_OUTPUT_FIELDS = (
    "image",
    "thumbnail",
    "width",
    "height",
    "format",
    "bytes",
    "model_used",
    "confidence",
    "quality_score",
    "needs_review",
    "warnings",
)


def _apply_output(job: Job, event: OutputEvent) -> None:
    result = Result.objects.filter(
        job=job,
        instruction_index=event.instruction_index,
        variation_index=event.variation_index,
        version=event.version,
    ).first()
    if result is None:
        if job.status not in (Job.Status.RUNNING, *OUTCOME_STATES):
            return
        # A version the engine made that we did not ask for here (PiktID regenerated it elsewhere).
        result = Result.objects.create(
            job=job,
            instruction_index=event.instruction_index,
            variation_index=event.variation_index,
            version=event.version,
        )
    if event.status == Result.Status.COMPLETED:
        changes = {
            key: getattr(event, key) for key in _OUTPUT_FIELDS if getattr(event, key) not in (None, "", ())
        }
        if "warnings" in changes:
            changes["warnings"] = list(changes["warnings"])
        result_transition(result_id=result.pk, to=Result.Status.COMPLETED, **changes)
    elif event.status == Result.Status.FAILED:
        result_transition(result_id=result.pk, to=Result.Status.FAILED, error=event.error[:2000])
    elif event.status == Result.Status.PROCESSING:
        result_transition(result_id=result.pk, to=Result.Status.PROCESSING)
    _job_refresh_progress(job)


def _job_refresh_progress(job: Job) -> None:
    """Progress from the latest version of every slot; when all are done, the job's outcome follows."""
    job.refresh_from_db(fields=["status"])
    slots = latest_results(job)
    total = max(job.total_outputs, len(slots), 1)
    done = [r for r in slots if r.is_done]
    # updated_at moves with progress, so resume_jobs never takes a job that is still rendering for stale.
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        progress=min(100.0, 100.0 * len(done) / total), updated_at=timezone.now()
    )
    if len(done) < job.total_outputs or len(done) < len(slots):
        return
    if job.status not in (Job.Status.RUNNING, *OUTCOME_STATES):
        return
    outcome, message = job_outcome(done)
    if outcome != job.status:
        job_transition(job_id=job.pk, to=outcome, error_message=message[:2000], progress=100.0)


def job_outcome(done: list[Result]) -> tuple[str, str]:
    """How a job whose outputs are all done ends: the one rule, for both engines.

    Every output failed → failed. Any output flagged by its engine or failed, that nobody has approved or
    rejected yet → needs review (never a green "completed" over outputs nobody looked at). Otherwise
    completed, or partially failed when decided outputs include failures.
    """
    failed = [r for r in done if r.status == Result.Status.FAILED]
    if failed and len(failed) == len(done):
        return Job.Status.FAILED, failed[0].error or "Every output failed."
    undecided = [r for r in done if r.awaits_decision]
    if undecided:
        flagged = len([r for r in undecided if r.status != Result.Status.FAILED])
        parts = [f"{flagged} flagged by the engine"] if flagged else []
        if failed:
            parts.append(f"{len(failed)} failed")
        return (
            Job.Status.NEEDS_REVIEW,
            f"{len(undecided)} of {len(done)} outputs need a decision ({', '.join(parts)}).",
        )
    if failed:
        return Job.Status.PARTIALLY_FAILED, f"{len(failed)} of {len(done)} outputs failed."
    return Job.Status.COMPLETED, ""


def results_review(*, job: Job, result_ids: list[int], decision: str, reason: str, user) -> int:
    """Approve or reject outputs of a finished job; the job's outcome follows. Returns how many changed.

    Only the latest version of a slot can be decided, and only once it is done; a failed output can only
    be rejected (or regenerated).
    """
    if decision not in (Result.Review.APPROVED, Result.Review.REJECTED):
        raise JobStateError("Choose approve or reject.")
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in OUTCOME_STATES:
            raise JobStateError("Outputs can be approved or rejected once the job has finished.")
        chosen = [r.pk for r in latest_results(job) if r.is_done and r.pk in set(result_ids)]
        rows = Result.objects.filter(pk__in=chosen)
        if decision == Result.Review.APPROVED:
            rows = rows.filter(status=Result.Status.COMPLETED)
        changed = rows.update(
            review=decision, review_reason=reason.strip()[:500], reviewed_by=user, reviewed_at=timezone.now()
        )
        _job_refresh_progress(job)
    return changed
