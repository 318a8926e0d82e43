"""Running jobs on PiktID: the shared limiter, submission with crash-safe reconciliation, result sync.

The order of a submission, and why:
1. the limiter (one row lock per PiktID account) decides whether this job may be created now; if not, the
   job stays queued with a reason and the caller waits (a task reschedules itself, the CLI sleeps);
2. the project is created lazily and each photo is pushed (pre-signed PUT right after the URL is issued);
3. the balance is checked (a job the account cannot pay is stopped with both numbers);
4. `submitting` + `submit_requested_at` are committed, then POST /create-packshot is sent — never twice:
   an answer lost in transit is reconciled against PiktID's gallery before anything is re-sent.
Results are copied into our storage outside any lock, then applied as `OutputEvent`s like local renders.
"""

import logging
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import PiktidConnection, Team
from packshots import imaging, queue
from packshots.engines import LOCAL, PIKTID
from packshots.engines.base import OutputEvent
from packshots.engines.piktid.client import (
    DEFAULT_TIMEOUT,
    TERMINAL_JOB_STATUSES,
    ImageRef,
    JobResults,
    Notification,
    PiktidClient,
    ResultItem,
)
from packshots.engines.piktid.errors import (
    PiktidAuthError,
    PiktidBadRequestError,
    PiktidConnectionError,
    PiktidError,
    PiktidForbiddenError,
    PiktidInsufficientCreditsError,
    PiktidNotFoundError,
    PiktidRateLimitError,
    PiktidServerError,
    SignatureError,
    UnsafeUrlError,
)
from packshots.engines.piktid.webhooks import parse_event, verify
from packshots.errors import JobStateError, PackshotError
from packshots.imaging.convert import to_png
from packshots.models import EngineEvent, Job, PiktidAccount, PiktidCreation, Project, Result
from packshots.services import maintenance
from packshots.services.connections import (
    PiktidCredentials,
    account_key_for,
    piktid_balance_refresh,
    piktid_client,
    piktid_credentials,
    piktid_delivery_record,
    piktid_status,
    piktid_token_invalid,
    webhook_key_lookup,
)
from packshots.services.jobs import (
    OUTCOME_STATES,
    engine_event_apply,
    engine_event_record,
    job_fail,
    job_transition,
    output_store_and_apply,
    result_regenerate_local,
    results_create,
)

log = logging.getLogger(__name__)

# A reservation whose worker died before it posted stops counting after this long.
RESERVATION_TTL = timedelta(minutes=5)
# A waiting job whose task has not checked in for this long no longer holds its place in the line.
WAITER_TTL = timedelta(minutes=2)
# When reconciling, a remote job created this long before our request still counts (clock skew).
CLOCK_SKEW = timedelta(minutes=2)
# What a webhook key can look like (ours are URL-safe random strings); anything else is a 404 at once.
WEBHOOK_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A job canceled here while PiktID runs it still counts as active at PiktID for about this long.
CANCELED_STILL_ACTIVE = timedelta(minutes=15)
# A create request is surely over after this long: the client's connect + write + read timeouts, and more.
# Sooner when it came back unanswered (`submit_ended_at`: reconciled at once) or the task worker that sent it
# is dead (silent for PACKSHOT_WORKER_DEAD_AFTER_S): a killed process sends nothing more, but a request it
# had sent may still be turning into a job at PiktID for as long as the client would have waited for the
# answer, so it is reconciled CREATE_ANSWER_WINDOW after it was sent (the request leaves as `submitting` is
# committed), never sooner.
SUBMIT_LEASE = timedelta(minutes=3)
CREATE_ANSWER_WINDOW = timedelta(seconds=DEFAULT_TIMEOUT.connect + DEFAULT_TIMEOUT.read + 10)


@dataclass(frozen=True)
class Wait:
    """Not now: try again in `seconds`; `reason` is what the job page says meanwhile."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Submission:
    """The create request a reconciliation is about: a decision on it (adopt a job found at PiktID, or send
    again) stands only while the job is still `submitting` with this very request (`_decided`).

    `dead_holder`: its worker was judged dead before SUBMIT_LEASE ran out, when its last heartbeat was
    `holder_seen` (None: it had none). A worker that has beaten since was not dead: nothing is decided then.
    """

    requested_at: datetime | None
    worker_id: str
    dead_holder: bool = False
    holder_seen: datetime | None = None

    @classmethod
    def of(cls, job: Job) -> "Submission":
        return cls(job.submit_requested_at, job.submit_worker_id)


# ---------------------------------------------------------------- the limiter


def limiter_acquire(*, job: Job, account_key: str) -> Wait | None:
    """Take one creation slot of the account for this job, or say how long to wait.

    Creations ≤ PIKTID_CREATE_LIMIT per rolling PIKTID_CREATE_WINDOW_S and active jobs ≤ PIKTID_ACTIVE_LIMIT,
    across every worker, CLI process and team using that account: decided under the account row's lock.
    Jobs queued earlier go first. Taking a slot twice for the same job returns the slot it holds.
    """
    with _account_lock(account_key) as account:
        now = timezone.now()
        if account.paused_until and account.paused_until > now:
            return Wait((account.paused_until - now).total_seconds(), account.pause_reason)
        held = PiktidCreation.objects.filter(
            job=job, sent_at__isnull=True, created_at__gt=now - RESERVATION_TTL
        )
        if held.exists():
            return None
        window = timedelta(seconds=settings.PIKTID_CREATE_WINDOW_S)
        recent = PiktidCreation.objects.filter(account_key=account_key).filter(
            Q(created_at__gt=now - window) | Q(sent_at__gt=now - window)
        )
        in_flight = PiktidCreation.objects.filter(
            account_key=account_key, sent_at__isnull=True, created_at__gt=now - RESERVATION_TTL
        )
        if _held_back_for_alike(account_key, in_flight).filter(pk=job.pk).exists():
            reason = "Waiting for a job like this one in the same project to reach PiktID first."
            Job.objects.filter(pk=job.pk).update(waiting_reason=reason, updated_at=now)
            return Wait(float(settings.PIKTID_ACTIVE_WAIT_S), reason)
        creations = recent.count() + in_flight.exclude(pk__in=recent.values("pk")).count()
        active = (
            _active_jobs(account_key, exclude=job.pk)
            + in_flight.exclude(job__status__in=[Job.Status.SUBMITTING, Job.Status.RUNNING]).count()
        )
        # Jobs that already hold a slot are counted in `creations` and `active`, not again as ahead; nor are
        # jobs held back for an alike job (they cannot take a free slot: counting them stalls the rest).
        held_back = _held_back_for_alike(account_key, in_flight)
        ahead = _jobs_ahead(
            job, account_key, now, exclude=[*in_flight.values_list("job_id", flat=True), *held_back]
        )
        free = min(settings.PIKTID_CREATE_LIMIT - creations, settings.PIKTID_ACTIVE_LIMIT - active)
        if free > ahead:
            PiktidCreation.objects.create(account_key=account_key, job=job, created_at=now)
            Job.objects.filter(pk=job.pk).update(waiting_reason="", updated_at=now)
            return None
        if settings.PIKTID_CREATE_LIMIT - creations <= ahead:
            # This job's slot frees when the (k)th oldest creation of the window ages out (the jobs ahead take
            # the earlier ones); past the window's creations, re-check one window from now.
            stamps = sorted((sent or made) for sent, made in recent.values_list("sent_at", "created_at"))
            k = creations + ahead - settings.PIKTID_CREATE_LIMIT + 1
            wake = stamps[k - 1] + window if k <= len(stamps) else now + window
            # Our stamps are taken before the request leaves; PiktID counts on arrival: keep a margin.
            margin = max(0.05, settings.PIKTID_CREATE_WINDOW_S / 120)
            seconds = max(0.05, (wake - now).total_seconds() + margin)
            why = f"{creations} jobs were created in the last {settings.PIKTID_CREATE_WINDOW_S} s"
        else:
            seconds = float(settings.PIKTID_ACTIVE_WAIT_S)
            why = f"{active} PiktID jobs of this account are running (limit {settings.PIKTID_ACTIVE_LIMIT})"
        ahead_text = f"{ahead} job{'s' if ahead != 1 else ''} ahead" if ahead else "next in line"
        reason = f"Waiting for PiktID's limit: {ahead_text} ({why})."
        Job.objects.filter(pk=job.pk).update(waiting_reason=reason[:300], updated_at=now)
        return Wait(seconds, reason)


def _held_back_for_alike(account_key: str, in_flight) -> QuerySet:
    """Ids of the account's queued jobs with an alike job (same project and size) on its way to PiktID or
    unsure whether it got there: those must not be sent yet.

    PiktID echoes nothing of ours: a job whose create answer is lost is found again in the project's gallery
    by creation time and number of outputs only, so two alike jobs both in doubt cannot be told apart (one
    could take the other's PiktID job, made from the other's photos). One create per project and size at a
    time keeps every unclaimed match the doubting job's own; creates of other projects or sizes still overlap.
    """
    busy = (
        Job.objects.filter(
            engine=Job.Engine.PIKTID,
            account_key=account_key,
            project_id=OuterRef("project_id"),
            total_outputs=OuterRef("total_outputs"),
            remote_job_id="",
        )
        .filter(Q(status=Job.Status.SUBMITTING) | Q(pk__in=in_flight.values("job_id")))
        .exclude(pk=OuterRef("pk"))
    )
    return (
        Job.objects.filter(engine=Job.Engine.PIKTID, account_key=account_key, status=Job.Status.QUEUED)
        .exclude(pk__in=in_flight.values("job_id"))
        .filter(Exists(busy))
        .values_list("pk", flat=True)
    )


@contextmanager
def _account_lock(account_key: str) -> Iterator[PiktidAccount]:
    """The account row, locked for the rest of the transaction (SQLite: the write lock serialises)."""
    with suppress(IntegrityError):  # a twin created it at the same moment
        PiktidAccount.objects.get_or_create(key=account_key)
    with transaction.atomic():
        yield PiktidAccount.objects.select_for_update().get(key=account_key)


def _active_jobs(account_key: str, *, exclude: int) -> int:
    # PiktID has no cancel: a job canceled here may still run there, and counts until PiktID's own
    # typical run time has passed (we stop following it, so we cannot know exactly when it ends).
    recently_canceled = (
        Q(
            status=Job.Status.CANCELED,
            finished_at__gt=timezone.now() - CANCELED_STILL_ACTIVE,
        )
        & ~Q(remote_job_id="")
        & ~Q(remote_status__in=TERMINAL_JOB_STATUSES)
    )
    return (
        Job.objects.filter(engine=Job.Engine.PIKTID, account_key=account_key)
        .filter(
            Q(status=Job.Status.SUBMITTING)
            | (Q(status=Job.Status.RUNNING) & ~Q(remote_status__in=TERMINAL_JOB_STATUSES))
            | recently_canceled
        )
        .exclude(pk=exclude)
        .count()
    )


def _jobs_ahead(job: Job, account_key: str, now: datetime, exclude=()) -> int:
    """Queued jobs of the same account that were queued earlier and are still being looked after."""
    return (
        Job.objects.filter(
            engine=Job.Engine.PIKTID,
            account_key=account_key,
            status=Job.Status.QUEUED,
            queued_at__lt=job.queued_at or now,
            updated_at__gt=now - WAITER_TTL,
        )
        .exclude(pk=job.pk)
        .exclude(pk__in=exclude)
        .count()
    )


def _wake_next(account_key: str) -> None:
    """Hand a freed slot to the longest-waiting job of the account at once instead of at its next check."""
    waiting = (
        Job.objects.filter(engine=Job.Engine.PIKTID, account_key=account_key, status=Job.Status.QUEUED)
        .order_by("queued_at")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None and queue.supports_later():
        queue.enqueue("piktid_submit_task", job_id=waiting)


def _wake_alike(job: Job) -> None:
    """The job's create has settled: the next job held back for it (same project and size) goes at once."""
    waiting = (
        Job.objects.filter(
            engine=Job.Engine.PIKTID,
            project_id=job.project_id,
            total_outputs=job.total_outputs,
            status=Job.Status.QUEUED,
        )
        .order_by("queued_at")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None and queue.supports_later():
        queue.enqueue("piktid_submit_task", job_id=waiting)


def queue_position(job: Job) -> int:
    """How many jobs of the same PiktID account wait ahead of this one (for the job page)."""
    if job.status != Job.Status.QUEUED or not job.account_key:
        return 0
    return _jobs_ahead(job, job.account_key, timezone.now())


def _limiter_release(job: Job) -> None:
    """Give back a slot that was never used for a creation (the job stopped before posting, or a 429)."""
    PiktidCreation.objects.filter(job=job, sent_at__isnull=True).delete()


# ---------------------------------------------------------------- submission


def piktid_submit(*, job_id: int, credentials: PiktidCredentials | None = None) -> Wait | None:
    """Move a queued PiktID job towards running; returns a Wait when it must be tried again later.

    Safe to repeat and to run after a crash: a job already created is left alone, a job left in
    `submitting` is reconciled before anything is re-sent. Raises nothing for PiktID's refusals: the job
    fails with PiktID's reason instead.
    """
    job = Job.objects.select_related("project").get(pk=job_id)
    if job.status == Job.Status.SUBMITTING:
        # Another worker may still be inside POST /create-packshot for this job: reconcile only once that
        # request is surely over (it came back unanswered, its timeouts have run out, or its worker is dead),
        # never while it may still be answered.
        submission = Submission.of(job)
        since = timezone.now() - (job.submit_requested_at or timezone.now())
        if job.submit_ended_at is None and since < SUBMIT_LEASE:
            dead, seen = _sender_dead(job.submit_worker_id)
            if not dead:
                return Wait((SUBMIT_LEASE - since).total_seconds() + 1, "Sending the job to PiktID…")
            if since < CREATE_ANSWER_WINDOW:
                # Its sender is gone, but PiktID may still be making the job it asked for.
                wait = (CREATE_ANSWER_WINDOW - since).total_seconds() + 0.5
                return Wait(wait, "Checking with PiktID whether the job was created…")
            log.warning(
                "Job %s: worker %s, which sent its create request, is dead; reconciling now",
                job.pk,
                job.submit_worker_id,
            )
            submission = Submission(job.submit_requested_at, job.submit_worker_id, True, seen)
        return piktid_reconcile(job_id=job_id, credentials=credentials, submission=submission)
    if job.status != Job.Status.QUEUED:
        return None
    credentials = credentials or piktid_credentials(job.team)
    if credentials is None:
        job_fail(
            job_id=job.pk,
            message="This team has no usable PiktID connection: connect a token in Team settings first.",
        )
        return None
    if job.account_key != credentials.account_key:
        Job.objects.filter(pk=job.pk).update(account_key=credentials.account_key)
        job.account_key = credentials.account_key
    wait = limiter_acquire(job=job, account_key=credentials.account_key)
    if wait is not None:
        return wait
    client = piktid_client(credentials)
    try:
        project_id = _remote_project(client, job.project, credentials.account_key)
        images = _push_photos(client, job, credentials.account_key)
        account = client.me()
        if account.credits < job.estimated_credits:
            _limiter_release(job)
            job_fail(job_id=job.pk, message=_credits_message(job.estimated_credits, account.credits))
            return None
        with transaction.atomic():
            # Committed before the request leaves: a crash from here on is reconciled, never blindly resent.
            # The request names the worker sending it, reconciled as soon as that worker is dead; a worker
            # already presumed dead (silent too long: its tasks may be resumed by another right now) sends
            # nothing, and beating here keeps it from being judged dead until the request has left.
            submission = Submission(timezone.now(), maintenance.this_worker() or "")
            if submission.worker_id and not maintenance.worker_renew(worker_id=submission.worker_id):
                log.warning("Job %s: this worker was presumed dead; not sending the job", job.pk)
                return Wait(float(settings.PACKSHOT_WORKER_DEAD_AFTER_S), "Sending the job to PiktID…")
            if not job_transition(
                job_id=job.pk,
                to=Job.Status.SUBMITTING,
                submit_requested_at=submission.requested_at,
                submit_worker_id=submission.worker_id,
                submit_ended_at=None,
                remote_project_id=project_id,
            ):
                _limiter_release(job)
                return None  # canceled meanwhile
            PiktidCreation.objects.filter(job=job, sent_at__isnull=True).update(sent_at=timezone.now())
        return _create(client, job, project_id, images, credentials, submission)
    except PiktidError as exc:
        return _refused(job, exc, credentials)
    finally:
        client.close()


def _sender_dead(worker_id: str) -> tuple[bool, datetime | None]:
    """Whether the task worker that sent a create request is dead, and its last heartbeat (None: none left).

    Dead: silent for PACKSHOT_WORKER_DEAD_AFTER_S, or its heartbeat row gone (reaped; a worker stopping
    cleanly removes its own only once its task has ended). A request sent by no such worker ("") is never
    judged this way: only SUBMIT_LEASE ends it.
    """
    if not worker_id:
        return False, None
    seen = maintenance.worker_last_seen(worker_id=worker_id)
    return seen is None or seen < timezone.now() - maintenance.worker_dead_after(), seen


def _create(
    client: PiktidClient,
    job: Job,
    project_id: str,
    images: list[ImageRef],
    credentials: PiktidCredentials,
    submission: Submission,
) -> Wait | None:
    try:
        created = client.create_packshot(
            project_id=project_id,
            images=images,
            instructions=_remote_instructions(job.instructions),
            options=job.options,
            post_process=bool(job.request.get("post_process", False)),
        )
    except PiktidConnectionError as exc:
        if not exc.maybe_sent:
            return _back_to_queue(job, f"PiktID could not be reached ({exc}); trying again.", 15)
        return _answer_lost(job, exc, credentials, client, submission)
    except PiktidServerError as exc:
        return _answer_lost(job, exc, credentials, client, submission)  # a 5xx may come after it was made
    except PiktidError as exc:
        if exc.status is not None and 200 <= exc.status < 300:
            # Accepted, but the answer was unreadable.
            return _answer_lost(job, exc, credentials, client, submission)
        raise  # PiktID said no (4xx): nothing was created
    # The remote id is kept at once, on its own: whatever fails after this, the job is known to exist.
    Job.objects.filter(pk=job.pk, status=Job.Status.SUBMITTING).update(remote_job_id=created.job_id)
    _running(job, created.job_id)
    return None


def _answer_lost(
    job: Job, exc: Exception, credentials: PiktidCredentials, client: PiktidClient, submission: Submission
) -> Wait | None:
    log.warning("Job %s: the answer to create-packshot was lost (%s); reconciling", job.pk, exc)
    # The request is over: the look-ups that follow (again after a failed one) need not wait for its lease.
    Job.objects.filter(
        pk=job.pk,
        status=Job.Status.SUBMITTING,
        submit_requested_at=submission.requested_at,
        submit_worker_id=submission.worker_id,
    ).update(submit_ended_at=timezone.now())
    return piktid_reconcile(job_id=job.pk, credentials=credentials, client=client, submission=submission)


def _running(job: Job, remote_job_id: str) -> None:
    with transaction.atomic():
        if job_transition(
            job_id=job.pk, to=Job.Status.RUNNING, remote_job_id=remote_job_id, remote_status="pending"
        ):
            job.refresh_from_db()
            results_create(job=job)
            # A first look soon (as PiktID's own client does after 5 s): the earliest notifications may have
            # arrived before this row knew its remote id, and later ones may never come.
            queue.enqueue("piktid_poll_task", job_id=job.pk, run_after=_later(5))
            _wake_alike(job)
        else:
            log.warning("Job %s was created at PiktID as %s but had stopped meanwhile", job.pk, remote_job_id)


def _back_to_queue(job: Job, reason: str, seconds: float) -> Wait:
    with transaction.atomic():
        job_transition(job_id=job.pk, to=Job.Status.QUEUED, waiting_reason=reason[:300])
        _limiter_release(job)
    return Wait(seconds, reason)


def _refused(job: Job, exc: PiktidError, credentials: PiktidCredentials) -> Wait | None:
    """PiktID said no (or could not be asked): wait, or fail the job with PiktID's own reason."""
    if isinstance(exc, PiktidRateLimitError):
        seconds = exc.retry_after if exc.retry_after is not None else settings.PIKTID_RATE_LIMIT_WAIT_S
        seconds = min(max(seconds, 1.0), 300.0)
        # The whole account slows down, not only this job: every queued job of it waits as long.
        _account_pause(credentials.account_key, seconds, "PiktID asked this account to slow down (429).")
        return _back_to_queue(
            job, f"PiktID asked us to slow down (429); trying again in {seconds:.0f} s.", seconds
        )
    if isinstance(exc, (PiktidServerError, PiktidConnectionError)):
        # Before the creation request: nothing was created, so simply try again later.
        return _back_to_queue(job, f"PiktID is not answering properly ({exc}); trying again.", 30)
    _limiter_release(job)
    if isinstance(exc, PiktidAuthError):
        piktid_token_invalid(account_key=credentials.account_key, reason=str(exc))
        message = (
            "PiktID refused the team's token (401). An owner or admin must save a new one in Team settings."
        )
    elif isinstance(exc, PiktidInsufficientCreditsError):
        message = _credits_message(exc.required_credits or job.estimated_credits, exc.user_credits)
        # The next jobs of this account wait a minute; each then checks the balance before it is sent.
        _account_pause(
            credentials.account_key, 60, "PiktID reported too few credits (402); re-checking soon."
        )
    elif isinstance(exc, PiktidBadRequestError):
        message = f"PiktID refused the job: {exc}"  # the client's message names PiktID's field details
    elif isinstance(exc, PiktidForbiddenError):
        message = f"PiktID refused the job (403: your plan does not allow it, e.g. this output size): {exc}"
    elif isinstance(exc, PiktidNotFoundError):
        message = f"PiktID did not find the project or a photo (404): {exc}"
        _forget_remote_project(job.project_id, credentials.account_key)  # re-create it next time
    else:
        message = f"PiktID refused the job: {exc}"
    job_fail(job_id=job.pk, message=message)
    return None


def _forget_remote_project(project_id: int, account_key: str) -> None:
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        project.remote_ids = {k: v for k, v in project.remote_ids.items() if k != account_key}
        project.save(update_fields=["remote_ids"])


def _account_pause(account_key: str, seconds: float, reason: str) -> None:
    until = timezone.now() + timedelta(seconds=seconds)
    PiktidAccount.objects.filter(key=account_key).filter(
        Q(paused_until__isnull=True) | Q(paused_until__lt=until)
    ).update(paused_until=until, pause_reason=reason[:300])


def _credits_message(required: float | None, available: float | None) -> str:
    def number(value: float | None) -> str:
        return "an unknown number of" if value is None else f"{value:g}"

    return (
        f"Not enough PiktID credits: this job needs {number(required)}, the account has {number(available)}."
    )


def _remote_project(client: PiktidClient, project: Project, account_key: str) -> str:
    """One PiktID project per project of ours and account, created the first time a job needs it."""
    project.refresh_from_db(fields=["remote_ids"])
    if remote := project.remote_ids.get(account_key):
        return remote
    remote = client.project_create(f"{project.name} ({project.pk})"[:128]).id
    with transaction.atomic():
        fresh = Project.objects.select_for_update().get(pk=project.pk)
        fresh.remote_ids = {**fresh.remote_ids, account_key: remote}
        fresh.save(update_fields=["remote_ids"])
    return remote


def _push_photos(client: PiktidClient, job: Job, account_key: str) -> list[ImageRef]:
    """Each photo not yet at PiktID under this account: a fresh pre-signed URL, then the PUT at once."""
    images = []
    for upload in job.uploads.all():
        file_id = upload.remote_file_ids.get(account_key)
        if not file_id:
            extension = upload.file.name.rsplit(".", 1)[-1].lower()
            if extension in ("jpg", "jpeg", "png"):
                file_id = client.upload(
                    f"photo_{upload.pk}.{'jpg' if extension == 'jpeg' else extension}",
                    lambda upload=upload: upload.file.open("rb"),
                    upload.file.size,
                )
            else:
                # PiktID takes JPEG and PNG only: other formats (WebP, HEIC) travel as a lossless PNG copy.
                with tempfile.TemporaryFile() as png:
                    with upload.file.open("rb") as original:
                        size = to_png(original, png)
                    file_id = client.upload(f"photo_{upload.pk}.png", lambda png=png: _rewound(png), size)
            upload.remote_file_ids = {**upload.remote_file_ids, account_key: file_id}
            upload.save(update_fields=["remote_file_ids"])
        images.append(ImageRef(file_id, upload.note))
    return images


def _rewound(file):
    """The same open file from its start, kept open across the client's retries (it closes its own copy)."""
    file.seek(0)
    return _Unclosable(file)


class _Unclosable:
    def __init__(self, file) -> None:
        self.file = file

    def __getattr__(self, name: str):
        return getattr(self.file, name)

    def __enter__(self):
        return self.file

    def __exit__(self, *exc) -> None:
        pass


_METADATA_KEYS = ("preset_name", "category_names")


def _remote_instructions(instructions: list[dict]) -> list[dict]:
    """The validated snapshot as PiktID takes it (its metadata fields are accepted as they are)."""
    return [
        {k: v for k, v in i.items() if v not in (None, "", {}) or k in _METADATA_KEYS} for i in instructions
    ]


# ---------------------------------------------------------------- crash safety


def piktid_reconcile(
    *,
    job_id: int,
    credentials: PiktidCredentials | None = None,
    client: PiktidClient | None = None,
    submission: Submission | None = None,
) -> Wait | None:
    """A job whose create request may or may not have reached PiktID: find it there, or resend once sure.

    PiktID's gallery lists the project's jobs newest first; one created since our request (less clock skew),
    with the same number of outputs and not already ours, is this job. Only when the look-up succeeds and
    finds none is the request sent again. When the look-up keeps failing the job stops with a message and
    can be submitted again by a person. `submission`: the request in doubt (default: the job's current one);
    each outcome is decided under the job row's lock and only while that request is still the job's, so of
    two reconciliations at once only one acts, and a stale one never sends a newer request again.
    """
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.SUBMITTING:
        return None
    if job.remote_job_id:  # the answer arrived and was kept before something else failed
        _running(job, job.remote_job_id)
        return None
    if submission is None:
        submission = Submission.of(job)
    elif (submission.requested_at, submission.worker_id) != (job.submit_requested_at, job.submit_worker_id):
        return None  # the job was sent again meanwhile: that request is its sender's to settle
    credentials = credentials or piktid_credentials(job.team)
    if credentials is None:
        job_fail(job_id=job.pk, message="This team's PiktID connection is gone; the job cannot be checked.")
        return None
    # Another job of this project and size may have its create answer on the way: until every such request
    # has settled, a job found in the gallery could be that one (adopting it would steal another job's work).
    # The limiter sends one create per project and size at a time (_held_back_for_alike); jobs of another
    # size never match, so they are not waited for (two such jobs in doubt would wait for each other).
    unsettled = (
        Job.objects.filter(
            engine=Job.Engine.PIKTID,
            account_key=credentials.account_key,
            remote_project_id=job.remote_project_id,
            total_outputs=job.total_outputs,
            status=Job.Status.SUBMITTING,
            remote_job_id="",
            submit_requested_at__gt=timezone.now() - SUBMIT_LEASE,
        )
        .exclude(pk=job.pk)
        .exists()
    )
    if unsettled:
        return Wait(5.0, "Checking with PiktID whether the job was created…")
    own_client = client is None
    client = client or piktid_client(credentials)
    try:
        since = (job.submit_requested_at or job.queued_at or timezone.now()) - CLOCK_SKEW
        claimed = set(
            Job.objects.filter(account_key=credentials.account_key)
            .exclude(remote_job_id="")
            .values_list("remote_job_id", flat=True)
        )
        for page in range(1, 4):
            listed = client.gallery_jobs(project_id=job.remote_project_id, page=page, per_page=20)
            for remote in listed:
                created = _parse_time(remote.created_at)
                if created is not None and created < since:
                    listed = []
                    break
                mine = remote.job_id not in claimed and remote.total_images == job.total_outputs
                if mine and _adopt(job, remote.job_id, submission):
                    return None
            if len(listed) < 20:
                break
    except PiktidRateLimitError as exc:
        # PiktID is answering, just not now: not a failed look-up (those stop the job after a few), a wait.
        seconds = min(max(exc.retry_after or 5.0, 1.0), 60.0)
        log.info("Job %s: PiktID's gallery look-up answered 429; again in %.0f s", job.pk, seconds)
        return Wait(seconds, "Checking with PiktID whether the job was created…")
    except PiktidError as exc:
        failures = job.submit_attempts
        if failures >= settings.PIKTID_RECONCILE_ATTEMPTS:
            with transaction.atomic():
                if _in_doubt(job.pk, submission):
                    job_fail(
                        job_id=job.pk,
                        message=(
                            "We could not find out whether PiktID created this job (it did not answer: "
                            f"{exc}). Check PiktID's app, then use “Submit again” if it is not there."
                        ),
                    )
            return None
        Job.objects.filter(pk=job.pk).update(submit_attempts=failures + 1)
        seconds = 30.0 * (failures + 1)
        log.warning("Job %s: looking it up at PiktID failed (%s); again in %.0f s", job.pk, exc, seconds)
        return Wait(seconds, "Checking with PiktID whether the job was created…")
    finally:
        if own_client:
            client.close()
    # Certainly not created: back in line for a fresh creation slot.
    with transaction.atomic():
        if not _in_doubt(job.pk, submission):
            return None  # another reconciliation settled this request meanwhile
        if submission.dead_holder:
            seen = maintenance.worker_last_seen(worker_id=submission.worker_id)
            if seen is not None and (submission.holder_seen is None or seen > submission.holder_seen):
                # Its sender has beaten since it was judged dead: it was only slow, and its request may still
                # be on its way. Not sent again; the lease decides, as for a live sender.
                log.warning("Job %s: worker %s is alive after all", job.pk, submission.worker_id)
                since = timezone.now() - (submission.requested_at or timezone.now())
                seconds = max(1.0, (SUBMIT_LEASE - since).total_seconds() + 1)
                return Wait(seconds, "Sending the job to PiktID…")
        return _back_to_queue(job, "PiktID had not created the job; sending it again.", 1)


def _in_doubt(job_id: int, submission: Submission) -> bool:
    """Lock the job's row (to the end of the transaction) and say whether it is still `submitting` this very
    request without a PiktID id: a reconciliation decides only then."""
    return (
        Job.objects.select_for_update()
        .filter(
            pk=job_id,
            status=Job.Status.SUBMITTING,
            remote_job_id="",
            submit_requested_at=submission.requested_at,
            submit_worker_id=submission.worker_id,
        )
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def _adopt(job: Job, remote_job_id: str, submission: Submission) -> bool:
    """Take a remote job found in the gallery as this job's; False if another job of ours holds it. True
    also when the request is no longer in doubt (another reconciliation settled it meanwhile)."""
    try:
        with transaction.atomic():
            if not _in_doubt(job.pk, submission):
                return True
            Job.objects.filter(pk=job.pk).update(remote_job_id=remote_job_id)
    except IntegrityError:  # one PiktID job per job of ours, per account (a unique constraint decides)
        return False
    _running(job, remote_job_id)
    return True


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def job_resubmit(*, job: Job) -> Job:
    """“Submit again”: a PiktID job stopped before we knew whether PiktID had it goes back in the queue."""
    if job.engine != Job.Engine.PIKTID or job.status != Job.Status.FAILED or job.remote_job_id:
        raise JobStateError("Only a PiktID job that never reached PiktID can be submitted again.")
    with transaction.atomic():
        # Its own guarded move, not an edge of the transition table: only a failed PiktID job that PiktID
        # never gave us an id for goes back in the queue.
        again = Job.objects.filter(
            pk=job.pk, engine=Job.Engine.PIKTID, status=Job.Status.FAILED, remote_job_id=""
        ).update(
            status=Job.Status.QUEUED,
            error_message="",
            finished_at=None,
            queued_at=timezone.now(),
            updated_at=timezone.now(),
            submit_attempts=0,
        )
        if not again:
            raise JobStateError("This job has moved on meanwhile.")
        Result.objects.filter(job=job).delete()
        queue.enqueue("piktid_submit_task", job_id=job.pk)
    job.refresh_from_db()
    return job


# ---------------------------------------------------------------- status and results


def piktid_sync(*, job_id: int, credentials: PiktidCredentials | None = None) -> bool:
    """Copy every finished output of a PiktID job into our storage and apply its state; True when done.

    Safe to run several times at once (webhook, SSE, poller): an output already stored is not fetched
    again, and a twin's copy is dropped by the event service. Raises PiktidError (a 401 after marking the
    token refused) and PackshotError when no credentials of the job's account are at hand.
    """
    job = Job.objects.get(pk=job_id)
    if not job.remote_job_id or job.status not in (Job.Status.RUNNING, *OUTCOME_STATES):
        return True
    credentials = credentials or piktid_credentials(job.team)
    if credentials is None:
        raise PackshotError("This team has no usable PiktID connection to follow the job with.")
    # A job started with another token (a replaced team token, the CLI's --token) is still followed with the
    # team's current one: a new token of the same PiktID user sees it; a stranger's gets 404 (see the poller).
    client = piktid_client(credentials)
    try:
        remote = client.job_results(job.remote_job_id)
        for item in remote.results:
            _sync_output(client, job, item)
    except PiktidAuthError as exc:
        piktid_token_invalid(account_key=credentials.account_key, reason=str(exc))
        raise
    finally:
        client.close()
    return _sync_job(job, remote)


def _sync_output(client: PiktidClient, job: Job, item: ResultItem) -> None:
    slot = (item.group_index, item.image_index, item.version)
    instructions = job.instructions
    if not (0 <= item.group_index < len(instructions)) or not (
        0 <= item.image_index < instructions[item.group_index].get("num_variations", 1)
    ):
        log.warning("Job %s: PiktID reported an output %s outside its instructions; ignored", job.pk, slot)
        return
    if not isinstance(item.full_size_url, str | None):
        log.warning("Job %s: output %s has no usable URL; ignored", job.pk, slot)
        return
    current = Result.objects.filter(
        job=job, instruction_index=slot[0], variation_index=slot[1], version=slot[2]
    ).first()
    if current is not None and current.is_done:
        return
    event_id = f"piktid-{job.pk}-{job.remote_job_id}-{slot[0]}-{slot[1]}-v{slot[2]}-{item.status}"
    if item.status == "completed" and item.full_size_url:
        _store_remote_output(client, job, item, event_id)
    elif item.status == "failed":
        engine_event_apply(
            source="piktid",
            event_id=event_id,
            job_id=job.pk,
            output=OutputEvent(
                *slot, "failed", error=item.error_message or "PiktID could not make this output."
            ),
        )
    elif item.status == "processing":
        engine_event_apply(
            source="piktid", event_id=event_id, job_id=job.pk, output=OutputEvent(*slot, "processing")
        )


def _store_remote_output(client: PiktidClient, job: Job, item: ResultItem, event_id: str) -> None:
    slot = (item.group_index, item.image_index, item.version)
    limit = settings.PIKTID_MAX_RESULT_MB * 1024 * 1024
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        try:
            size = client.fetch_file(item.full_size_url, spool, max_bytes=limit)
            spool.seek(0)
            data = spool.read()
            image = imaging.load_image(data, max_pixels=settings.PACKSHOT_MAX_PIXELS * 2)
        except (UnsafeUrlError, imaging.ImageError) as exc:
            log.warning("Job %s: output %s refused: %s", job.pk, slot, exc)
            engine_event_apply(
                source="piktid",
                event_id=event_id + "-refused",
                job_id=job.pk,
                output=OutputEvent(*slot, "failed", error=f"PiktID's file could not be taken: {exc}"),
            )
            return
    fmt = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"
    output_store_and_apply(
        job=job,
        source="piktid",
        event_id=event_id,
        data=data,
        thumbnail=imaging.thumbnail(image),
        event=OutputEvent(
            *slot,
            "completed",
            width=image.width,
            height=image.height,
            format=fmt,
            bytes=size,
            model_used=item.model_used[:50],
            quality_score=item.quality_score,
            # PiktID's own review flag (gallery fields detail_needs_review / detail_review_reason).
            needs_review=bool(item.raw.get("detail_needs_review")),
            warnings=(str(item.raw["detail_review_reason"])[:300],)
            if item.raw.get("detail_review_reason")
            else (),
        ),
    )


def _sync_job(job: Job, remote: JobResults) -> bool:
    """Keep PiktID's job-level facts; a finished remote job closes outputs PiktID never delivered."""
    # Only the sync that sees PiktID's job turn terminal frees its slot (so the next job is woken once).
    freed = (
        Job.objects.filter(pk=job.pk)
        .exclude(remote_status__in=TERMINAL_JOB_STATUSES)
        .update(remote_status=remote.status[:30])
        if remote.status in TERMINAL_JOB_STATUSES
        else 0
    )
    Job.objects.filter(pk=job.pk).update(
        remote_status=remote.status[:30],
        credits_used=remote.credits_used,
        remote_metadata=remote.raw,
        last_event_at=timezone.now(),
    )
    if remote.status not in TERMINAL_JOB_STATUSES:
        return False
    if freed:
        _wake_next(job.account_key)  # an active slot of the account just freed
    reported = {(i.group_index, i.image_index, i.version) for i in remote.results}
    unfinished = Result.objects.filter(job=job, status__in=[Result.Status.PENDING, Result.Status.PROCESSING])
    for result in unfinished:
        if (result.instruction_index, result.variation_index, result.version) in reported:
            continue  # reported but not fetched yet (e.g. a refused URL is already failed): leave it
        error = remote.error_message or f"PiktID ended the job ({remote.status}) without this output."
        engine_event_apply(
            source="piktid",
            event_id=f"piktid-{job.remote_job_id}-{result.instruction_index}-{result.variation_index}"
            f"-v{result.version}-missing",
            job_id=job.pk,
            output=OutputEvent(
                result.instruction_index, result.variation_index, result.version, "failed", error=error
            ),
        )
    return not Result.objects.filter(
        job=job, status__in=[Result.Status.PENDING, Result.Status.PROCESSING]
    ).exists()


def piktid_poll(*, job_id: int) -> float | None:
    """The poller's step for a job with no news for a while; returns seconds until the next poll, or None.

    A 404 just after creation is normal (PiktID takes a moment to list a job): try again later.
    """
    job = Job.objects.get(pk=job_id)
    if not job.remote_job_id or not _has_unfinished(job):
        return None
    quiet_for = (timezone.now() - (job.last_event_at or job.started_at or timezone.now())).total_seconds()
    if job.last_event_at and quiet_for < settings.PIKTID_POLL_S:
        return settings.PIKTID_POLL_S - quiet_for  # news came by webhook or SSE: nothing to ask yet
    try:
        done = piktid_sync(job_id=job_id)
    except PiktidNotFoundError:
        age = (timezone.now() - (job.started_at or timezone.now())).total_seconds()
        if age > settings.PIKTID_NOT_FOUND_GRACE_S:
            credentials = piktid_credentials(job.team)
            other = credentials is not None and job.account_key and credentials.account_key != job.account_key
            job_fail(
                job_id=job.pk,
                message="PiktID does not show this job to the team's current token: it was started with "
                "another PiktID token (404)."
                if other
                else "PiktID no longer knows this job (404).",
            )
            return None
        return 5.0
    except (PiktidAuthError, PackshotError) as exc:
        # No usable token for now: look again in a while (a new token may be saved meanwhile).
        log.warning("Job %s cannot be followed now: %s", job.pk, exc)
        return float(settings.PIKTID_POLL_S) * 10
    except PiktidError as exc:
        log.warning("Job %s: polling PiktID failed: %s", job.pk, exc)
        return float(settings.PIKTID_POLL_S)
    return None if done else float(settings.PIKTID_POLL_S)


def _has_unfinished(job: Job) -> bool:
    return (
        job.status == Job.Status.RUNNING
        or Result.objects.filter(
            job=job, status__in=[Result.Status.PENDING, Result.Status.PROCESSING]
        ).exists()
    )


def _later(seconds: float) -> datetime | None:
    return timezone.now() + timedelta(seconds=seconds) if queue.supports_later() else None


# ---------------------------------------------------------------- notifications (webhook, SSE)


class Handled(NamedTuple):
    job_id: int | None  # our job the notification is about, if any
    fresh: bool  # first time we see this notification
    synced: bool = False  # a sync of the job was queued for it (the first news of a burst, or of the end)


def piktid_notification_handle(*, account_key: str, notification: Notification) -> Handled:
    """Record one PiktID notification once and queue the sync of the job it names.

    The job is found through our own (account, remote job id) mapping, never through ids alone, so an
    event can only ever touch a job of the account it came from. Repeats are recorded once and ignored;
    bursts of news about one job ask for one sync (PiktID's results are read whole by it), except that
    news of the job's end always asks for one.
    """
    data = notification.data if isinstance(notification.data, dict) else {}
    remote_job_id = str(data.get("id_task") or data.get("job_id") or "")[:200]
    job_id = _job_of_account(account_key, remote_job_id) if remote_job_id else None
    # No savepoint: a caller's transaction (the webhook's, with its own task row) simply includes this one.
    with transaction.atomic(savepoint=False):
        fresh = engine_event_record(
            source=notification_source(account_key),
            event_id=str(notification.id),
            job_id=job_id,
            name=notification.name,
            payload={"data": data, "timestamp": notification.timestamp},
        )
        synced = False
        if fresh and job_id is not None:
            news = notification.name in ("batch_edit", "image_result")
            ends = notification.name == "batch_edit" and data.get("status") in TERMINAL_JOB_STATUSES
            synced = _job_touch(job_id, ask_sync=news, always=ends)
            if synced:
                queue.enqueue("piktid_sync_task", job_id=job_id)
    return Handled(job_id, fresh, synced)


def notification_source(account_key: str) -> str:
    """EngineEvent.source of the notifications of one PiktID account (its ids are that account's)."""
    return f"piktid:{account_key[:12]}"


def piktid_notification_consumed(*, account_key: str, notification_id: int) -> None:
    """Note that a notification was deleted at PiktID (the SSE listener does so itself), so the consume task
    does not ask again."""
    EngineEvent.objects.filter(
        source=notification_source(account_key), event_id=str(notification_id), consumed_at__isnull=True
    ).update(consumed_at=timezone.now())


SYNC_COALESCE = timedelta(seconds=2)


def _job_touch(job_id: int, *, ask_sync: bool, always: bool) -> bool:
    """Note news of a job in one UPDATE; True when a sync should be queued for it.

    One sync per job per SYNC_COALESCE (`always` for news of its end): the conditional UPDATE decides it,
    across processes. Within a coalesced burst `last_event_at` keeps the time of the burst's first news
    (at most SYNC_COALESCE old: the poller only asks whether a job was quiet for PIKTID_POLL_S).
    """
    now = timezone.now()
    jobs = Job.objects.filter(pk=job_id)
    if not ask_sync:
        jobs.update(last_event_at=now)
        return False
    if not always:
        jobs = jobs.filter(Q(sync_requested_at__isnull=True) | Q(sync_requested_at__lt=now - SYNC_COALESCE))
    return jobs.update(sync_requested_at=now, last_event_at=now) == 1


def _job_of_account(account_key: str, remote_job_id: str) -> int | None:
    """Our job with that PiktID id, among jobs this account may speak for: those it submitted, and those of
    the teams now using it (a team that replaced its token keeps receiving news of its running jobs).

    A job found is remembered for JOB_OF_ACCOUNT_TTL_S: a burst of news about one job costs one look-up (a job
    keeps its PiktID id; one not found is asked again every time).
    """
    now = time.monotonic()
    cached = _jobs_of_accounts.get((account_key, remote_job_id))
    if cached is not None and now - cached[0] < JOB_OF_ACCOUNT_TTL_S:
        return cached[1]
    job_id = _job_of_account_query(account_key, remote_job_id)
    if job_id is not None:
        if len(_jobs_of_accounts) > 10_000:
            _jobs_of_accounts.clear()
        _jobs_of_accounts[account_key, remote_job_id] = (now, job_id)
    return job_id


JOB_OF_ACCOUNT_TTL_S = 5.0
_jobs_of_accounts: dict[tuple[str, str], tuple[float, int]] = {}


def _job_of_account_query(account_key: str, remote_job_id: str) -> int | None:
    """The job submitted by this account with that id; else the one job of a team now using the account.

    Job ids are PiktID's per account: another account's job may carry the same id. A team that replaced its
    token still hears of jobs its old token submitted, but only when exactly one such job matches: an
    ambiguous id names no job rather than the wrong one.
    """
    jobs = Job.objects.filter(engine=Job.Engine.PIKTID, remote_job_id=remote_job_id)
    own = jobs.filter(account_key=account_key).values_list("pk", flat=True).first()
    if own is not None:
        return own
    teams = PiktidConnection.objects.filter(account_key=account_key).values("team_id")
    environment = settings.PIKTID_TOKEN and account_key_for(
        base_url=settings.PIKTID_BASE_URL, token=settings.PIKTID_TOKEN
    )
    owners = Q(team_id__in=teams)
    if account_key == environment:
        owners |= Q(team__piktid_connection__isnull=True)
    candidates = list(jobs.filter(owners).values_list("pk", flat=True)[:2])
    return candidates[0] if len(candidates) == 1 else None


# ---------------------------------------------------------------- regenerate


def piktid_regenerate(*, result: Result) -> Result:
    """Ask PiktID for a new version of one output; earlier versions stay viewable."""
    job = Job.objects.get(pk=result.job_id)
    if job.status not in OUTCOME_STATES or not job.remote_job_id:
        raise JobStateError("Outputs can be regenerated once the job has finished.")
    credentials = piktid_credentials(job.team)
    if credentials is None:
        raise PackshotError("This team has no usable PiktID connection.")
    newest = (
        Result.objects.filter(
            job=job, instruction_index=result.instruction_index, variation_index=result.variation_index
        )
        .order_by("-version")
        .first()
    )
    if not newest.is_done:
        raise JobStateError("This output is already being regenerated.")
    try:
        # The pending version is committed first: a second click finds it (or hits the unique slot) and
        # never sends a second request.
        fresh = Result.objects.create(
            job=job,
            instruction_index=result.instruction_index,
            variation_index=result.variation_index,
            version=newest.version + 1,
        )
    except IntegrityError:
        raise JobStateError("This output is already being regenerated.") from None
    client = piktid_client(credentials)
    try:
        client.regenerate(
            job.remote_job_id, group_index=result.instruction_index, image_index=result.variation_index
        )
    except PiktidError as exc:
        fresh.delete()  # nothing was asked of PiktID: the slot is free again
        if isinstance(exc, PiktidAuthError):
            piktid_token_invalid(account_key=credentials.account_key, reason=str(exc))
            raise PackshotError("PiktID refused the team's token (401).") from exc
        raise PackshotError(f"PiktID could not regenerate this output: {exc}") from exc
    finally:
        client.close()
    queue.enqueue("piktid_poll_task", job_id=job.pk, run_after=_later(settings.PIKTID_POLL_S))
    return fresh


def piktid_notification_delete(*, team_id: int, notification_id: int) -> None:
    """DELETE /notifications/{id} with the team's credentials (404 counts as deleted)."""
    credentials = piktid_credentials(Team.objects.get(pk=team_id))
    if credentials is None:
        return
    with piktid_client(credentials) as client:
        client.notification_delete(notification_id)


CONSUME_MARGIN = timedelta(seconds=1)


def piktid_notifications_consume(*, team_id: int, job_id: int) -> int:
    """DELETE /notifications/{id} at PiktID for the job's recorded notifications not consumed yet; how many.

    Rows are taken (SKIP LOCKED) and marked before PiktID is asked, so two runs never delete one notification
    twice; 404 counts as deleted. A delete that fails leaves the notification to expire at PiktID (ten
    minutes): a replay is recorded once anyway.
    """
    credentials = piktid_credentials(Team.objects.get(pk=team_id))
    if credentials is None:
        return 0
    # Only the notifications of the account the team uses now: ids are per account, so another account's
    # (a token replaced since) are left to expire there rather than deleting this account's namesakes.
    source = notification_source(credentials.account_key)
    with transaction.atomic():
        taken = list(
            EngineEvent.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, source=source, consumed_at__isnull=True)
            .values_list("pk", "event_id")
        )
        EngineEvent.objects.filter(pk__in=[pk for pk, _ in taken]).update(consumed_at=timezone.now())
    deleted = 0
    with piktid_client(credentials) as client:
        for _, event_id in taken:
            if not event_id.isdigit():
                continue
            try:
                client.notification_delete(int(event_id))
            except PiktidError as exc:
                log.info("Job %s: notifications left to expire at PiktID: %s", job_id, exc)
                break
            deleted += 1
    return deleted


class WebhookNotFoundError(PackshotError):
    """No team has this webhook key."""


def piktid_webhook_receive(*, key: str, body: bytes, signature: str | None) -> int | None:
    """One webhook delivery: checked, recorded once, its job's sync and the notification's deletion queued.

    The signature is verified over the raw body (constant time, current and previous secret) before anything
    is parsed or written; only verified deliveries count as the team's "last delivery". Nothing here talks
    to PiktID: the view answers at once and tasks do the rest. Raises WebhookNotFoundError (404),
    SignatureError (401) or ValueError for a malformed body (400).
    """
    found = webhook_key_lookup(key) if WEBHOOK_KEY.fullmatch(key) else None
    if found is None:
        raise WebhookNotFoundError("Unknown webhook")
    try:
        verify(body, signature, found.secrets)
    except SignatureError:
        found = webhook_key_lookup(key, fresh=True)  # a secret replaced in the last seconds
        if found is None:
            raise WebhookNotFoundError("Unknown webhook") from None
        verify(body, signature, found.secrets)
    team, account_key = found.team, found.account_key
    notification = parse_event(body)
    # One short transaction: the event, its job's news and both task rows commit together.
    with transaction.atomic():
        handled = piktid_notification_handle(account_key=account_key, notification=notification)
        if handled.synced:
            # The burst's notifications are deleted at PiktID together, once the burst is recorded: one task
            # per burst, not one per delivery. Only notifications about our jobs are consumed: others may be
            # another integration's to read.
            queue.enqueue(
                "piktid_notifications_consume_task",
                run_after=_later((SYNC_COALESCE + CONSUME_MARGIN).total_seconds()),
                team_id=team.pk,
                job_id=handled.job_id,
            )
    piktid_delivery_record(team=team, status=f"200 {notification.name}")
    return handled.job_id


def result_regenerate(*, result: Result) -> Result:
    """A new version of one output on the job's own engine (local: a new seed; PiktID: its regenerate)."""
    if result.job.engine == Job.Engine.PIKTID:
        return piktid_regenerate(result=result)
    return result_regenerate_local(result=result)


def engines_for_team(team: Team) -> list[str]:
    """The engines a team can run jobs on now: PiktID only with a usable connection."""
    return [LOCAL, PIKTID] if piktid_credentials(team) is not None else [LOCAL]


BALANCE_MAX_AGE = timedelta(minutes=1)


def piktid_balance_for_review(*, team: Team):
    """The team's PiktID status with a balance at most a minute old (asked of /auth/me when older).

    The review step shows it beside the job's cost; a PiktID that does not answer leaves the last known
    balance (the submission checks again anyway).
    """
    status = piktid_status(team)
    checked = status.credits_checked_at
    if status.is_usable and (checked is None or timezone.now() - checked > BALANCE_MAX_AGE):
        try:
            piktid_balance_refresh(team=team)
        except PackshotError as exc:
            log.info("Team %s: balance not refreshed: %s", team.pk, exc)
        status = piktid_status(team)
    return status


def job_submission_in_doubt(*, job_id: int) -> bool:
    """Could PiktID have this job although we do not know its id (a create request left, no answer kept)?"""
    return Job.objects.filter(pk=job_id, status=Job.Status.SUBMITTING).exists()
