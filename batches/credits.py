"""PiktID credits from our own records: usage per day / project / user / preset, and the monthly budget.

A PiktID job counts what PiktID reported (`credits_used`) once known, else its estimate while it is queued
or running at PiktID; a job canceled or failed before PiktID created it cost nothing. Local-engine jobs are
free and never counted.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import PiktidAccountState, PiktidConnection, Team
from batches.models import TeamBudget
from packshots import instructions as schema
from packshots.engines import is_remote
from packshots.errors import PackshotError
from packshots.models import Job
from packshots.services.connections import piktid_credentials

WARN_AT = 0.8
_ACTIVE = (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING)


def month_start(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime | None = None) -> date:
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1).date()


def charged_jobs(team: Team, since: datetime | None = None):
    """The team's PiktID jobs that cost (or are about to cost) credits."""
    jobs = Job.objects.filter(team=team, engine=Job.Engine.PIKTID).exclude(status=Job.Status.DRAFT)
    jobs = jobs.filter(Q(credits_used__isnull=False) | ~Q(remote_job_id="") | Q(status__in=_ACTIVE))
    return _since(jobs, since) if since is not None else jobs


def _since(jobs, since: datetime):
    # Started jobs carry queued_at; created_at stands in for rows made without it (admin, old data).
    return jobs.annotate(when=Coalesce("queued_at", "created_at")).filter(when__gte=since)


def job_credits(job: Job) -> float:
    return job.credits_used if job.credits_used is not None else float(job.estimated_credits)


def month_used(team: Team, now: datetime | None = None) -> float:
    return sum(
        job_credits(j) for j in charged_jobs(team, month_start(now)).only("credits_used", "estimated_credits")
    )


def budget_of(team: Team) -> int | None:
    budget = TeamBudget.objects.filter(team=team).first()
    return budget.monthly_credits if budget else None


def budget_status(team: Team, now: datetime | None = None) -> dict:
    """This month's use against the budget, with the plain-words message to show (or "")."""
    limit = budget_of(team)
    used = month_used(team, now)
    status = {"limit": limit, "used": used, "percent": None, "level": "", "message": ""}
    if not limit:
        return status
    percent = 100 * used / limit
    status["percent"] = round(percent)
    until = next_month(now).strftime("%-d %B")
    if used >= limit:
        status["level"] = "blocked"
        status["message"] = (
            f"The team has used {used:g} of its {limit:,} PiktID credits this month: new PiktID jobs are "
            f"blocked until {until}, or until an owner or admin raises the budget. Local-engine jobs still "
            "run."
        )
    elif used >= WARN_AT * limit:
        status["level"] = "warning"
        status["message"] = (
            f"The team has used {used:g} of its {limit:,} PiktID credits this month ({percent:.0f}%). "
            f"At {limit:,} new PiktID jobs are blocked until {until}."
        )
    return status


def budget_check(job: Job) -> None:
    """Refuse to queue a PiktID job that would take the team past its monthly budget (called by job_start).

    The budget row is locked, so two jobs started at once cannot both squeeze under the limit.
    """
    if not is_remote(job.engine):
        return
    budget = TeamBudget.objects.select_for_update().filter(team_id=job.team_id).first()
    if budget is None or not budget.monthly_credits:
        return
    limit = budget.monthly_credits
    used = month_used(job.team)
    needs = schema.credit_cost(job.instructions)
    if used + needs > limit:
        left = max(0, limit - used)
        raise PackshotError(
            f"Monthly PiktID budget reached: this job needs {needs} credits and the team has {left:g} of its "
            f"{limit:,} left this month. Ask an owner or admin to raise the budget, or run it on the local "
            "engine (free)."
        )


@transaction.atomic
def budget_set(*, team: Team, monthly_credits: int | None) -> TeamBudget:
    if monthly_credits is not None and not 0 < monthly_credits <= 10_000_000:
        raise PackshotError("A monthly budget is a whole number of credits from 1 to 10,000,000 (or blank).")
    budget, _ = TeamBudget.objects.update_or_create(team=team, defaults={"monthly_credits": monthly_credits})
    return budget


def usage(team: Team, since: datetime) -> dict:
    """Credits since `since` per day, project, user and preset (instructions without one: "no preset")."""
    by: dict[str, dict] = {k: defaultdict(float) for k in ("day", "project", "user", "preset")}
    total = 0.0
    jobs = charged_jobs(team, since).select_related("project", "author")
    for job in jobs:
        credits = job_credits(job)
        total += credits
        when = timezone.localtime(job.queued_at or job.created_at).date()
        by["day"][when.isoformat()] += credits
        by["project"][job.project.name] += credits
        by["user"][job.author.email] += credits
        # A job's credits are shared among its instructions by their estimated cost.
        costs = [(i.get("preset_name") or "no preset", schema.output_credits(i)) for i in job.instructions]
        estimate = sum(c for _, c in costs) or 1
        for preset, cost in costs:
            by["preset"][preset] += credits * cost / estimate
    local = _since(
        Job.objects.filter(team=team, engine=Job.Engine.LOCAL).exclude(status="draft"), since
    ).count()
    return {
        "total": total,
        "local_jobs": local,
        "piktid_jobs": jobs.count(),
        **{
            k: sorted(((name, round(v, 1)) for name, v in d.items()), key=lambda r: (-r[1], r[0]))
            for k, d in by.items()
        },
        "days": sorted(((d, round(v, 1)) for d, v in by["day"].items()), reverse=True),
    }


def last_balance(team: Team) -> dict | None:
    """The PiktID account's balance as last read (the Team page refreshes it); None without a connection."""
    credentials = piktid_credentials(team)
    if credentials is None:
        return None
    row = (
        PiktidConnection.objects.filter(team=team).first()
        or PiktidAccountState.objects.filter(account_key=credentials.account_key).first()
    )
    if row is None or row.credits is None:
        return {"credits": None, "checked_at": None}
    return {"credits": row.credits, "checked_at": row.credits_checked_at}
