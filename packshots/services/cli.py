"""What `manage.py create_packshot` needs beyond the web app's services: a database ready on a fresh clone,
the job made from a folder of photos, the credentials of its flags, and a PiktID job followed in-process.

The CLI runs without a worker, so it may sleep where a task must reschedule itself; it still goes through
the shared limiter (`piktid_submit`), so CLI processes and workers never exceed PiktID's limits together.
"""

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Membership, Team
from packshots.engines.piktid.errors import PiktidAuthError, PiktidError, PiktidNotFoundError
from packshots.errors import InvalidInputError, PackshotError
from packshots.models import Job, Project, Result
from packshots.services.connections import (
    PiktidCredentials,
    piktid_client,
    piktid_credentials,
    piktid_credentials_for_token,
    piktid_token_invalid,
)
from packshots.services.drafts import (
    job_discard,
    job_draft_create,
    job_set_instructions,
    job_set_options,
    job_start,
    upload_add,
)
from packshots.services.jobs import job_cancel
from packshots.services.library import project_create
from packshots.services.piktid import piktid_submit, piktid_sync


def database_prepare(*, stdout=None) -> bool:
    """Migrate and seed the embedded SQLite database when it has unapplied migrations (as `make run` does).

    Only the default database in PACKSHOT_VAR_DIR is prepared unasked; any other (DATABASE_URL) is left
    alone with a PackshotError saying to migrate it. Returns True when it prepared the database.
    """
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    database = settings.DATABASES["default"]
    default_file = settings.VAR_DIR / "db.sqlite3"  # config/settings.py's choice when DATABASE_URL is unset
    embedded = database["ENGINE"].endswith("sqlite3") and Path(database["NAME"]) == default_file
    if not embedded:
        raise PackshotError("The database has unapplied migrations: run `python manage.py migrate` first.")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=stdout)
    return True


def membership_for_cli(*, team_slug: str | None, email: str | None) -> Membership:
    """The member a CLI job is created for: the team by slug (or the only team), a member who may create."""
    memberships = Membership.objects.select_related("team", "user").exclude(role=Membership.Role.VIEWER)
    if team_slug:
        if not Team.objects.filter(slug=team_slug).exists():
            raise PackshotError(f"No team with slug {team_slug!r}")
        memberships = memberships.filter(team__slug=team_slug)
    elif Team.objects.count() != 1:
        raise PackshotError("Several teams exist: choose one with --team SLUG")
    if email:
        memberships = memberships.filter(user__email__iexact=email)
    membership = memberships.order_by("role", "pk").first()
    if membership is None:
        raise PackshotError(
            "No member who may create jobs in that team" + (f" with e-mail {email}" if email else "")
        )
    return membership


def piktid_credentials_for_cli(
    *, team: Team, token: str | None = None, base_url: str | None = None
) -> PiktidCredentials:
    """`--token` wins, else the team's saved connection, else PIKTID_TOKEN; `--base-url` applies to any.

    The token is checked with GET /auth/me before anything is stored, so a refused one is a one-line error.
    """
    if token is None:
        found = piktid_credentials(team)
        if found is None:
            raise PackshotError(
                "No PiktID token: pass --token, connect the team in Team settings, or set PIKTID_TOKEN."
            )
        if base_url is None:
            return _checked(found)
        moved = piktid_credentials_for_token(token=found.token, base_url=base_url)
        return _checked(replace(moved, source=found.source))
    return _checked(piktid_credentials_for_token(token=token, base_url=base_url))


def _checked(credentials: PiktidCredentials) -> PiktidCredentials:
    whose = {"token": "the token given with --token", "team": "the team's saved token"}.get(
        credentials.source, "PIKTID_TOKEN"
    )
    try:
        with piktid_client(credentials) as client:
            client.me()
    except PiktidAuthError as exc:
        if credentials.source != "token":  # a saved token: stop its other uses too (as connections does)
            piktid_token_invalid(account_key=credentials.account_key, reason=str(exc))
        raise PackshotError(f"PiktID refused {whose} (401): {exc}") from exc
    except PiktidError as exc:
        raise PackshotError(f"PiktID at {credentials.base_url} could not be asked: {exc}") from exc
    return credentials


def job_create_from_files(
    *,
    membership: Membership,
    project_name: str,
    photos: list[Path],
    notes: list[str],
    instructions: list[dict],
    engine: str,
    options: dict,
    post_process: bool,
) -> Job:
    """A queued job (not enqueued: the caller runs it) from photo files, in the named project.

    Each photo is decoded and stored by `upload_add` outside any outer transaction (SQLite's write lock is
    not held while pixels are read); when anything is refused, the draft, its files and a project made for
    it are removed again, and the error propagates.
    """
    project, created = _project_for(membership, project_name)
    job = job_draft_create(project=project, author=membership.user, engine=engine)
    try:
        for i, photo in enumerate(photos):
            with photo.open("rb") as f:
                upload_add(
                    job=job,
                    uploaded_by=membership.user,
                    file=File(f, name=photo.name),
                    note=notes[i] if i < len(notes) else "",
                )
        with transaction.atomic():
            job = job_set_instructions(job=job, instructions=instructions)
            job = job_set_options(job=job, engine=engine, options=options, post_process=post_process)
            return job_start(job=job, enqueue=False)
    except BaseException:
        job_discard(job=job)
        if created:
            Project.objects.filter(pk=project.pk, jobs__isnull=True).delete()
        raise


def _project_for(membership: Membership, name: str) -> tuple[Project, bool]:
    def existing() -> Project | None:
        return Project.objects.filter(team=membership.team, name__iexact=name.strip()).first()

    if project := existing():
        return project, False
    try:
        return project_create(team=membership.team, created_by=membership.user, name=name), True
    except InvalidInputError:
        if project := existing():  # a twin CLI run created it a moment ago
            return project, False
        raise


def piktid_run_here(
    *,
    job_id: int,
    credentials: PiktidCredentials,
    poll_s: float,
    timeout_s: float,
    report: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Job:
    """Submit a queued PiktID job and follow it until every output is stored; returns the job.

    Waits for the shared limiter by sleeping (saying each new reason once), then polls every `poll_s`
    seconds like the official client. A job not yet created when `timeout_s` passes is canceled (nothing
    was charged); a running one is left to the app and a PackshotError says so.
    """
    deadline = time.monotonic() + timeout_s
    said = ""
    try:
        while (wait := piktid_submit(job_id=job_id, credentials=credentials)) is not None:
            if wait.reason != said:
                report(wait.reason)
                said = wait.reason
            if time.monotonic() + wait.seconds > deadline:
                raise PackshotError(f"Gave up after {timeout_s:g} s waiting for PiktID's limits.")
            sleep(wait.seconds)
    except BaseException:
        job = Job.objects.get(pk=job_id)
        if job.status == Job.Status.QUEUED:
            job_cancel(job=job)  # never created at PiktID: nothing charged, and no one else will send it
        raise
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.RUNNING:
        return job
    report(f"PiktID job {job.remote_job_id}: {job.total_outputs} outputs, polling every {poll_s:g} s")
    last = ""
    while True:
        try:
            done = piktid_sync(job_id=job_id, credentials=credentials)
        except PiktidNotFoundError:
            done = False  # a new job may be invisible for a moment
        except PiktidAuthError as exc:
            raise PackshotError(f"PiktID refused the token while the job ran (401): {exc}") from exc
        except PiktidError as exc:
            report(f"PiktID did not answer ({exc}); trying again")
            done = False
        job.refresh_from_db()
        ready = job.results.filter(status__in=[Result.Status.COMPLETED, Result.Status.FAILED]).count()
        progress = f"Progress: {ready}/{job.total_outputs} outputs ({job.remote_status or 'pending'})"
        if progress != last:
            report(progress)
            last = progress
        if done:
            return job
        if time.monotonic() + poll_s > deadline:
            raise PackshotError(
                f"Job #{job.pk} was not finished after {timeout_s:g} s; it keeps running at PiktID "
                f"(job {job.remote_job_id})."
            )
        sleep(poll_s)
