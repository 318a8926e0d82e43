"""Drafts in the UI: "New job" reuses an empty draft, drafts have a filter, started jobs leave the wizard."""

from pathlib import Path

from django.contrib.staticfiles import finders
from django.urls import reverse

from packshots.models import Job
from tests import factories


def new_job(client, project):
    return client.post(reverse("packshots:job-new", args=[project.pk]), follow=True)


def test_new_job_twice_reuses_the_same_empty_draft(member_client, team, member):
    project = factories.make_project(team=team, user=member)
    first = new_job(member_client, project)
    second = new_job(member_client, project)
    assert Job.objects.filter(project=project, status=Job.Status.DRAFT).count() == 1
    job = Job.objects.get(project=project)
    assert first.redirect_chain[-1][0] == second.redirect_chain[-1][0] == f"/jobs/{job.pk}/wizard/photos/"
    assert f"Continuing your empty draft #{job.pk}." in second.text


def test_a_draft_with_a_photo_or_an_instruction_is_not_reused(member_client, team, member):
    project = factories.make_project(team=team, user=member)
    with_photo = factories.make_draft(team=team, user=member, project=project, photos=1)
    with_instruction = factories.make_draft(
        team=team, user=member, project=project, photos=0, instructions=[factories.WHITE_CUTOUT]
    )
    new_job(member_client, project)
    drafts = Job.objects.filter(project=project, status=Job.Status.DRAFT)
    assert drafts.count() == 3
    assert {with_photo.pk, with_instruction.pk} < set(drafts.values_list("pk", flat=True))


def test_another_users_empty_draft_is_not_reused(member_client, team, member):
    project = factories.make_project(team=team, user=member)
    colleague = factories.make_user(email="colleague@example.com", team=team, role="member")
    theirs = factories.make_draft(team=team, user=colleague, project=project, photos=0)
    new_job(member_client, project)
    mine = Job.objects.filter(project=project, author=member)
    assert mine.count() == 1 and mine.get().pk != theirs.pk


def test_the_jobs_list_has_a_drafts_filter(member_client, team, member):
    done = factories.make_job(team=team, status=Job.Status.COMPLETED, user=member)
    draft = factories.make_draft(team=team, user=member)
    drafts_page = member_client.get(reverse("packshots:job-list") + "?status=draft").text
    assert f">#{draft.pk}<" in drafts_page and f">#{done.pk}<" not in drafts_page
    assert reverse("packshots:wizard-photos", args=[draft.pk]) in drafts_page
    assert 'value="draft" selected' in drafts_page
    default_page = member_client.get(reverse("packshots:job-list")).text
    assert f">#{done.pk}<" in default_page and f">#{draft.pk}<" not in default_page
    assert 'href="?status=draft"' in default_page


def test_a_wizard_url_of_a_started_job_redirects_to_the_job_page(member_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, user=member)
    for step in ("wizard-photos", "wizard-instructions", "wizard-review"):
        response = member_client.get(reverse(f"packshots:{step}", args=[job.pk]))
        assert response.status_code == 302 and response["Location"] == job.get_absolute_url(), step
        assert "HX-Request" in response["Vary"]
    page = member_client.get(reverse("packshots:wizard-review", args=[job.pk]), follow=True).text
    assert f"Job #{job.pk} has started" in page


def test_an_htmx_post_to_the_wizard_of_a_started_job_redirects_the_browser_and_changes_nothing(
    member_client, team, member
):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, user=member)
    before = job.request
    response = member_client.post(
        reverse("packshots:wizard-review", args=[job.pk]),
        {"action": "save", "engine": "local"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response["HX-Redirect"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.request == before and job.status == Job.Status.RUNNING


def test_destructive_forms_ask_for_confirmation(member_client, team, member):
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    factories.make_preset(team=team)
    photos = member_client.get(reverse("packshots:wizard-photos", args=[draft.pk])).text
    assert 'data-confirm="Remove the photo photo0.jpg from this job?"' in photos
    assert f'data-confirm="Discard draft #{draft.pk}' in photos
    instructions = member_client.get(reverse("packshots:wizard-instructions", args=[draft.pk])).text
    assert 'data-confirm="Remove the instruction “' in instructions
    presets = member_client.get(reverse("packshots:preset-list")).text
    assert 'data-confirm="Delete the preset “White 1K”' in presets
    running = factories.make_job(team=team, status=Job.Status.RUNNING, user=member)
    assert f'data-confirm="Cancel job #{running.pk}?' in member_client.get(running.get_absolute_url()).text


def test_every_page_links_the_favicon_and_the_file_exists(member_client):
    page = member_client.get(reverse("packshots:project-list")).text
    assert '<link rel="icon" href="/static/favicon/favicon.svg" type="image/svg+xml">' in page
    path = finders.find("favicon/favicon.svg")
    assert path and Path(path).read_text().startswith("<svg")
