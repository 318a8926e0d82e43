"""The job page and the wizard's review step for both engines: engine choice, balance, regenerate, waiting."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from packshots.models import Job
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN


def test_piktid_is_offered_only_to_a_connected_team(member_client, team, member, settings, fake_piktid):
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    url = reverse("packshots:wizard-review", args=[draft.pk])
    assert 'value="piktid"' not in member_client.get(url).content.decode()
    response = member_client.post(url, {"engine": "piktid", "model": "auto", "action": "save"})
    draft.refresh_from_db()
    assert (
        draft.engine == "local" and "piktid is not one of the available choices" in response.content.decode()
    )
    settings.PIKTID_TOKEN, settings.PIKTID_BASE_URL = FAKE_TOKEN, fake_piktid.base_url
    assert 'value="piktid"' in member_client.get(url).content.decode()


def test_the_review_step_warns_when_the_balance_is_short(member_client, team, member, fake_piktid):
    from packshots import services

    Membership.objects.filter(user=member).update(role="owner")
    fake_piktid.accounts[FAKE_TOKEN].credits = 2
    services.piktid_connect(team=team, user=member, token=FAKE_TOKEN, base_url=fake_piktid.base_url)
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    services.job_set_options(job=draft, engine="piktid", options={"model": "auto"}, post_process=False)
    page = member_client.get(reverse("packshots:wizard-review", args=[draft.pk])).content.decode()
    assert "PiktID balance" in page
    assert "Not enough PiktID credits: this job needs 3, the account has 2." in page


def test_the_team_default_engine_picks_the_engine_of_a_new_draft(team, member, settings, fake_piktid):
    from packshots import services

    team.default_engine = "piktid"
    team.save()
    assert factories.make_draft(team=team, user=member).engine == "local"  # not connected: local it is
    settings.PIKTID_TOKEN, settings.PIKTID_BASE_URL = FAKE_TOKEN, fake_piktid.base_url
    assert (
        services.job_draft_create(project=factories.make_project(team=team), author=member).engine == "piktid"
    )


def test_a_waiting_job_says_why(member_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.QUEUED)
    Job.objects.filter(pk=job.pk).update(
        engine="piktid", waiting_reason="Waiting for PiktID's limit: 3 jobs ahead (5 jobs were created)."
    )
    page = member_client.get(job.get_absolute_url()).content.decode()
    assert "Waiting for PiktID&#x27;s limit: 3 jobs ahead" in page


@pytest.mark.slow
def test_regenerating_a_local_output_keeps_the_old_version_viewable(member_client, team, member):
    from django.test import TestCase

    job = factories.start_job(
        factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    )
    first = job.results.get()
    page = member_client.get(job.get_absolute_url()).content.decode()
    assert reverse("packshots:result-regenerate", args=[first.pk]) in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = member_client.post(reverse("packshots:result-regenerate", args=[first.pk]))
    assert response.status_code == 302
    newest = job.results.order_by("-version").first()
    assert newest.version == 1 and newest.status == "completed" and newest.image.name != first.image.name
    page = member_client.get(job.get_absolute_url()).content.decode()
    assert "output_0_0_v1.jpg" in page and reverse("packshots:result-file", args=[first.pk, "image"]) in page
    job.refresh_from_db()
    assert job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)  # the small photo is flagged


def test_viewers_cannot_regenerate(viewer_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.COMPLETED, results=1)
    response = viewer_client.post(reverse("packshots:result-regenerate", args=[job.results.get().pk]))
    assert response.status_code == 403 and job.results.count() == 1


def test_a_running_job_cannot_be_regenerated_or_resubmitted(member_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    member_client.post(reverse("packshots:result-regenerate", args=[job.results.get().pk]))
    member_client.post(reverse("packshots:job-resubmit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.results.count() == 1


def test_the_review_step_asks_piktid_for_a_balance_older_than_a_minute(
    member_client, team, member, fake_piktid
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import PiktidConnection
    from packshots import services

    services.piktid_connect(team=team, user=member, token=FAKE_TOKEN, base_url=fake_piktid.base_url)
    PiktidConnection.objects.filter(team=team).update(
        credits_checked_at=timezone.now() - timedelta(minutes=5)
    )
    fake_piktid.accounts[FAKE_TOKEN].credits = 777
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    services.job_set_options(job=draft, engine="piktid", options={"model": "auto"}, post_process=False)
    page = member_client.get(reverse("packshots:wizard-review", args=[draft.pk])).content.decode()
    assert "777 credits" in page


def flagged_job(team):
    from packshots import services
    from packshots.engines.base import OutputEvent

    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    for variation, warnings in ((0, ("garment touches the photo's edge",)), (1, ())):
        services.engine_event_apply(
            source="local",
            event_id=f"t-{variation}",
            job_id=job.pk,
            output=OutputEvent(
                0, variation, 0, "completed", image="a.jpg", thumbnail="b.jpg", warnings=warnings
            ),
        )
    job.refresh_from_db()
    return job


def test_a_flagged_output_is_explained_and_can_be_approved_from_the_job_page(member_client, team):
    job = flagged_job(team)
    assert job.status == Job.Status.NEEDS_REVIEW
    page = member_client.get(job.get_absolute_url()).content.decode()
    assert "Needs review" in page and "garment touches the photo&#x27;s edge" in page
    flagged = job.results.get(variation_index=0)
    response = member_client.post(
        reverse("packshots:job-review", args=[job.pk]),
        {"results": [flagged.pk], "decision": "approved", "reason": "edge is fine for this shot"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    flagged.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and flagged.review == "approved"
    assert flagged.review_reason == "edge is fine for this shot"
    listing = member_client.get(reverse("packshots:job-list") + "?status=needs_review").content.decode()
    assert f"#{job.pk}" not in listing


@pytest.mark.parametrize(
    "data",
    [
        {"results": ["abc"], "decision": "approved"},
        {"results": ["1" * 30], "decision": "approved"},
        {"results": [], "decision": "approved"},
        {"decision": "maybe"},
        {"results": ["1"], "decision": "approved", "reason": "x\x00y"},
    ],
)
def test_bad_review_requests_change_nothing(member_client, team, data):
    job = flagged_job(team)
    response = member_client.post(reverse("packshots:job-review", args=[job.pk]), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.NEEDS_REVIEW and not job.results.exclude(review="").exists()


def test_viewers_cannot_review(viewer_client, team):
    job = flagged_job(team)
    result = job.results.first()
    response = viewer_client.post(
        reverse("packshots:job-review", args=[job.pk]), {"results": [result.pk], "decision": "rejected"}
    )
    assert response.status_code == 403 and not job.results.exclude(review="").exists()
