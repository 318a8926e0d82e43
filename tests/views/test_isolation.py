"""Team isolation: every object URL answers 404 to another team, and viewers cannot change anything."""

import pytest
from django.urls import reverse

from packshots.models import Job
from tests import factories


@pytest.fixture
def world(team, member):
    """One of everything, owned by `team`, with finished results and files."""
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    upload = job.uploads.get()
    preset = factories.make_preset(team=team)
    factories.start_job(job)  # immediate task backend: renders for real
    result = job.results.get()
    draft = factories.make_draft(team=team, user=member, project=job.project)
    return {"job": job, "upload": upload, "preset": preset, "result": result, "draft": draft}


def object_urls(world) -> list[tuple[str, str]]:
    job, upload, preset, result, draft = (world[k] for k in ("job", "upload", "preset", "result", "draft"))
    return [
        ("get", reverse("packshots:project-detail", args=[job.project_id])),
        ("post", reverse("packshots:job-new", args=[job.project_id])),
        ("get", reverse("packshots:job-detail", args=[job.pk])),
        ("post", reverse("packshots:job-cancel", args=[job.pk])),
        ("post", reverse("packshots:job-duplicate", args=[job.pk])),
        ("get", reverse("packshots:job-instructions", args=[job.pk])),
        ("get", reverse("packshots:job-zip", args=[job.pk])),
        (
            "get",
            reverse("packshots:job-zip", args=[job.pk]) + f"?only=selected&names=piktid&results={result.pk}",
        ),
        ("get", reverse("packshots:job-detail", args=[job.pk]) + "?since=0"),
        ("get", reverse("packshots:wizard-photos", args=[draft.pk])),
        ("post", reverse("packshots:wizard-photos", args=[draft.pk])),
        ("get", reverse("packshots:wizard-instructions", args=[draft.pk])),
        ("post", reverse("packshots:wizard-instructions", args=[draft.pk])),
        ("post", reverse("packshots:instruction-remove", args=[draft.pk, 0])),
        ("get", reverse("packshots:wizard-review", args=[draft.pk])),
        ("post", reverse("packshots:wizard-review", args=[draft.pk])),
        ("post", reverse("packshots:job-discard", args=[draft.pk])),
        ("post", reverse("packshots:upload-note", args=[upload.pk])),
        ("post", reverse("packshots:upload-make-main", args=[upload.pk])),
        ("post", reverse("packshots:upload-remove", args=[upload.pk])),
        ("get", reverse("packshots:upload-file", args=[upload.pk, "original"])),
        ("get", reverse("packshots:upload-file", args=[upload.pk, "thumbnail"])),
        ("get", reverse("packshots:upload-file", args=[upload.pk, "cutout"])),
        ("get", reverse("packshots:upload-repair", args=[upload.pk])),
        ("post", reverse("packshots:upload-repair", args=[upload.pk])),
        ("get", reverse("packshots:upload-repair-layer", args=[upload.pk, "photo"])),
        ("get", reverse("packshots:upload-repair-layer", args=[upload.pk, "overlay"])),
        ("get", reverse("packshots:result-file", args=[result.pk, "image"])),
        ("get", reverse("packshots:result-file", args=[result.pk, "thumbnail"])),
        ("get", reverse("packshots:preset-edit", args=[preset.pk])),
        ("post", reverse("packshots:preset-edit", args=[preset.pk])),
        ("post", reverse("packshots:preset-delete", args=[preset.pk])),
        ("post", reverse("packshots:result-regenerate", args=[result.pk])),
        ("post", reverse("packshots:job-resubmit", args=[job.pk])),
        ("post", reverse("packshots:job-review", args=[job.pk])),
        ("get", reverse("packshots:wizard-photos", args=[job.pk])),  # started: redirects to the job page
        ("get", reverse("packshots:project-edit", args=[job.project_id])),
        ("post", reverse("packshots:project-edit", args=[job.project_id])),
        ("post", reverse("packshots:project-archive", args=[job.project_id])),
        ("post", reverse("packshots:upload-move", args=[draft.uploads.get().pk])),
    ]


def test_every_object_url_gives_404_to_another_team(world, outsider_client):
    status = world["job"].status  # completed, or needs review when the engine flags the synthetic photo
    for method, url in object_urls(world):
        response = getattr(outsider_client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
    assert Job.objects.filter(pk=world["job"].pk, status=status).exists() and world["job"].is_terminal


def test_every_object_url_works_for_the_owning_team(world, member_client):
    for method, url in object_urls(world):
        if method == "get":
            response = member_client.get(url)
            assert response.status_code in (200, 302), f"GET {url} answered {response.status_code}"


def test_lists_show_only_the_current_teams_work(world, outsider, outsider_client, other_team):
    mine = factories.make_project(team=other_team, user=outsider, name="Bravo only")
    for name in ("project-list", "job-list", "preset-list"):
        page = outsider_client.get(reverse(f"packshots:{name}")).content.decode()
        assert world["job"].project.name not in page
        assert world["preset"].name not in page
    assert mine.name in outsider_client.get(reverse("packshots:project-list")).content.decode()
    export = outsider_client.get(reverse("packshots:preset-export")).content.decode()
    assert world["preset"].name not in export


def test_anonymous_users_are_sent_to_login(world, client):
    for method, url in object_urls(world):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize("name", ["preset-create"])
def test_viewer_cannot_open_editing_pages(viewer_client, name):
    assert viewer_client.get(reverse(f"packshots:{name}")).status_code == 403


def test_viewer_can_read_but_every_change_is_forbidden(world, viewer_client):
    for method, url in object_urls(world):
        response = getattr(viewer_client, method)(url)
        editing_page = any(part in url for part in ("/wizard/", "/presets/", "/repair/", "/edit/"))
        if method == "post" or editing_page:
            assert response.status_code == 403, f"{method.upper()} {url} answered {response.status_code}"
        else:
            assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    response = viewer_client.post(reverse("packshots:project-list"), {"name": "Nope"})
    assert response.status_code == 403


def test_switching_to_a_team_you_are_not_in_is_refused(member_client, other_team):
    response = member_client.post(reverse("accounts:team-switch"), {"team": other_team.pk})
    assert response.status_code == 404


def test_a_member_of_two_teams_switches_between_them(member, member_client, other_team):
    factories.make_project(team=other_team, user=member, name="Second team project")
    from accounts.models import Membership

    Membership.objects.create(user=member, team=other_team, role="member")
    assert "Second team project" not in member_client.get(reverse("packshots:project-list")).content.decode()
    member_client.post(reverse("accounts:team-switch"), {"team": other_team.pk})
    assert "Second team project" in member_client.get(reverse("packshots:project-list")).content.decode()


def test_media_is_not_under_any_public_url(world, client):
    name = world["upload"].file.name
    assert client.get("/media/" + name).status_code == 404
    assert client.get("/" + name).status_code == 404


def test_admin_lists_every_model(client, db):
    from accounts.models import User

    admin = User.objects.create_superuser("root@example.com", "pw")
    client.force_login(admin)
    for model in (
        "accounts/user",
        "accounts/team",
        "accounts/membership",
        "packshots/project",
        "packshots/preset",
        "packshots/job",
        "packshots/upload",
        "packshots/result",
        "packshots/engineevent",
    ):
        assert client.get(f"/admin/{model}/").status_code == 200, model
    assert client.get("/admin/packshots/preset/add/").status_code == 200


def test_admin_refuses_an_invalid_preset_instruction(client, team):
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root@example.com", "pw"))
    response = client.post(
        "/admin/packshots/preset/add/",
        {
            "team": team.pk,
            "name": "Broken",
            "categories": "[]",
            "instruction": '{"style": "free", "num_variations": 9}',
        },
    )
    assert response.status_code == 200 and "num_variations: must be 1–8" in response.text


def test_originals_are_served_with_the_detected_type_not_the_file_name(member_client, team, member):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from packshots import services

    job = factories.make_draft(team=team, user=member, photos=0)
    sneaky = SimpleUploadedFile("page.html", factories.photo_bytes(fmt="PNG"), content_type="text/html")
    upload = services.upload_add(job=job, uploaded_by=member, file=sneaky)
    response = member_client.get(reverse("packshots:upload-file", args=[upload.pk, "original"]) + "?inline=1")
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert not upload.file.name.endswith(".html")


def test_switching_team_keeps_list_pages_and_leaves_object_pages(member, member_client, other_team, team):
    from accounts.models import Membership

    Membership.objects.create(user=member, team=other_team, role="member")
    url = reverse("accounts:team-switch")
    jobs = reverse("packshots:job-list")
    assert member_client.post(url, {"team": other_team.pk, "next": jobs})["Location"] == jobs
    job_page = reverse("packshots:job-detail", args=[1])
    assert member_client.post(url, {"team": team.pk, "next": job_page})["Location"] == reverse(
        "packshots:project-list"
    )
    evil = member_client.post(url, {"team": team.pk, "next": "https://evil.example/"})
    assert evil["Location"] == reverse("packshots:project-list")


def test_viewers_see_drafts_without_a_link_into_the_wizard(viewer_client, team, member):
    draft = factories.make_draft(team=team, user=member)
    page = viewer_client.get(reverse("packshots:project-detail", args=[draft.project_id])).text
    assert f"#{draft.pk}" in page and reverse("packshots:wizard-photos", args=[draft.pk]) not in page


def gallery_htmx_requests(world) -> list[tuple[str, str, dict]]:
    """The poll fragment and the HTMX review/regenerate of the job page."""
    job, result = world["job"], world["result"]
    return [
        ("get", reverse("packshots:job-detail", args=[job.pk]) + "?since=0", {}),
        (
            "post",
            reverse("packshots:job-review", args=[job.pk]),
            {"results": [result.pk], "decision": "approved"},
        ),
        ("post", reverse("packshots:result-regenerate", args=[result.pk]), {"since": "0"}),
    ]


def test_the_gallerys_htmx_requests_give_404_to_another_team(world, outsider_client):
    for method, url, data in gallery_htmx_requests(world):
        response = getattr(outsider_client, method)(url, data, headers={"HX-Request": "true"})
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
    assert not world["job"].results.exclude(review="").exists() and world["job"].results.count() == 1


def test_the_gallerys_htmx_changes_are_forbidden_to_a_viewer(world, viewer_client):
    for method, url, data in gallery_htmx_requests(world):
        response = getattr(viewer_client, method)(url, data, headers={"HX-Request": "true"})
        assert response.status_code == (200 if method == "get" else 403), f"{method.upper()} {url}"
    assert not world["job"].results.exclude(review="").exists() and world["job"].results.count() == 1
