"""Credits from our records and the monthly budget: warn at 80 %, PiktID jobs refused at 100 %."""

import pytest
from django.utils import timezone

from batches import credits
from batches.models import TeamBudget
from packshots import services
from packshots.errors import PackshotError
from packshots.models import Job
from tests import factories

TWO_K = {"style": "white_cutout", "num_variations": 2, "options": {"size": "2K"}}  # 2 × 5 = 10 credits


def piktid_job(team, *, credits_used=None, status=Job.Status.COMPLETED, remote=None, preset="") -> Job:
    instruction = {**TWO_K, **({"preset_name": preset} if preset else {})}
    job = factories.make_draft(team=team, instructions=[instruction])
    Job.objects.filter(pk=job.pk).update(
        engine="piktid",
        status=status,
        estimated_credits=10,
        credits_used=credits_used,
        remote_job_id=f"job_{job.pk}" if remote is None else remote,  # one PiktID job per job of ours
        queued_at=timezone.now(),
    )
    return Job.objects.get(pk=job.pk)


def piktid_draft(team, user) -> Job:
    job = factories.make_draft(team=team, user=user, instructions=[TWO_K])
    Job.objects.filter(pk=job.pk).update(engine="piktid")
    return Job.objects.get(pk=job.pk)


def test_usage_counts_reported_credits_else_estimates_and_never_local_or_uncharged_jobs(team, member):
    piktid_job(team, credits_used=7, preset="Amazon white")
    piktid_job(team, status=Job.Status.RUNNING, preset="Amazon white")  # estimate while it runs: 10
    piktid_job(team, status=Job.Status.CANCELED, remote="")  # canceled before PiktID made it: free
    factories.make_job(team=team, status=Job.Status.COMPLETED)  # local
    usage = credits.usage(team, timezone.now() - timezone.timedelta(days=1))
    assert usage["total"] == 17 and usage["piktid_jobs"] == 2
    assert usage["preset"] == [("Amazon white", 17.0)]
    assert usage["user"] == [("alice@example.com", 17.0)]


def test_the_budget_warns_at_80_percent_in_plain_words(team, member):
    TeamBudget.objects.create(team=team, monthly_credits=20)
    piktid_job(team, credits_used=16)
    status = credits.budget_status(team)
    assert (
        status["level"] == "warning" and "16 of its 20 PiktID credits this month (80%)" in status["message"]
    )


def test_a_piktid_job_past_the_budget_is_refused_at_start_and_stays_a_draft(team, member):
    TeamBudget.objects.create(team=team, monthly_credits=25)
    piktid_job(team, credits_used=16)
    draft = piktid_draft(team, member)
    with pytest.raises(PackshotError, match="this job needs 10 credits and the team has 9 of its 25 left"):
        services.job_start(job=draft)
    draft.refresh_from_db()
    assert draft.status == Job.Status.DRAFT


def test_a_job_within_the_budget_starts_and_a_local_job_is_never_blocked(team, member):
    TeamBudget.objects.create(team=team, monthly_credits=26)
    piktid_job(team, credits_used=16)
    started = services.job_start(job=piktid_draft(team, member))
    assert started.status == Job.Status.QUEUED
    assert credits.budget_status(team)["level"] == "blocked"  # 26 of 26 now
    local = factories.make_draft(team=team, user=member, instructions=[TWO_K])
    assert services.job_start(job=local).status == Job.Status.QUEUED


def test_no_budget_never_blocks(team, member):
    piktid_job(team, credits_used=10_000)
    assert services.job_start(job=piktid_draft(team, member)).status == Job.Status.QUEUED


def test_a_budget_must_be_a_positive_whole_number(team):
    with pytest.raises(PackshotError):
        credits.budget_set(team=team, monthly_credits=0)
    assert credits.budget_set(team=team, monthly_credits=None).monthly_credits is None
