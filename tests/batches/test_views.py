"""Batch and credits pages: team isolation, viewers read-only, uploads, start, retry, the batch ZIP."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from batches.models import Batch, TeamBudget
from packshots.models import Job
from tests import factories
from tests.batches.conftest import make_zip, photo, start, zip_batch


@pytest.fixture
def batch(team, member, three_skus):
    return start(zip_batch(team, member, three_skus))


def batch_urls(batch) -> list[tuple[str, str]]:
    return [
        ("get", reverse("batches:batch-detail", args=[batch.pk])),
        ("post", reverse("batches:batch-files", args=[batch.pk])),
        ("post", reverse("batches:batch-files-done", args=[batch.pk])),
        ("post", reverse("batches:batch-start", args=[batch.pk])),
        ("post", reverse("batches:batch-retry", args=[batch.pk])),
        ("get", reverse("batches:batch-zip", args=[batch.pk])),
    ]


def test_every_batch_url_gives_404_to_another_team(batch, outsider_client):
    for method, url in batch_urls(batch):
        response = getattr(outsider_client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
    page = outsider_client.get(reverse("batches:batch-list")).content.decode()
    assert batch.name not in page


def test_viewers_see_a_batch_but_change_nothing(batch, viewer_client):
    page = viewer_client.get(reverse("batches:batch-detail", args=[batch.pk])).content.decode()
    assert "SKU-1" in page and "Retry failed" not in page
    for method, url in batch_urls(batch):
        if method == "post":
            assert viewer_client.post(url).status_code == 403, url
    assert (
        viewer_client.post(reverse("batches:batch-new-files"), {"name": "x", "project": "y"}).status_code
        == 403
    )
    response = viewer_client.post(
        reverse("batches:batch-new-zip"),
        {"name": "x", "project": "y", "archive": SimpleUploadedFile("a.zip", make_zip({"A/a.jpg": photo()}))},
    )
    assert response.status_code == 403 and Batch.objects.count() == 1
    assert viewer_client.get(reverse("batches:batch-zip", args=[batch.pk])).status_code == 200


def test_uploading_a_zip_stores_it_and_checks_it_in_a_task_then_shows_the_skus(
    member_client, django_capture_on_commit_callbacks
):
    archive = make_zip(
        {"A1/front.jpg": photo(), "A1/back.jpg": photo(), "B2/x.jpg": photo(), "B2/n.txt": b"x"}
    )
    with django_capture_on_commit_callbacks() as tasks:
        response = member_client.post(
            reverse("batches:batch-new-zip"),
            {"name": "Autumn", "project": "Autumn drop", "archive": SimpleUploadedFile("a.zip", archive)},
        )
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    # The request only stored the ZIP and asked for the check; nothing is unpacked yet.
    assert batch.status == Batch.Status.CHECKING and not batch.skus.exists() and batch.archive.name
    assert "A worker is unpacking" in member_client.get(batch.get_absolute_url()).content.decode()
    assert len(tasks) == 1
    tasks[0]()  # the worker's turn
    page = member_client.get(batch.get_absolute_url()).content.decode()
    assert "Ready to start" in page and "A1" in page and "B2" in page
    assert "B2/n.txt" in page and "not an image" in page


def test_a_zip_over_the_cap_is_refused_before_it_is_kept(member_client, settings):
    settings.BATCH_MAX_ZIP_MB = 1
    big = SimpleUploadedFile("a.zip", b"PK" + b"\0" * (2 * 2**20))
    response = member_client.post(
        reverse("batches:batch-new-zip"), {"name": "x", "project": "y", "archive": big}
    )
    assert response.status_code == 400
    assert "at most 1 MB" in response.content.decode() and not Batch.objects.exists()


def test_a_file_that_is_not_a_zip_fails_the_batch_with_the_reason(
    member_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("batches:batch-new-zip"),
            {"name": "x", "project": "y", "archive": SimpleUploadedFile("a.zip", b"not a zip at all")},
        )
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.FAILED and "not a ZIP archive" in batch.error


def test_a_folder_upload_in_groups_then_done_makes_one_sku_per_subfolder(
    member_client, django_capture_on_commit_callbacks
):
    response = member_client.post(
        reverse("batches:batch-new-files"), {"name": "F", "project": "P", "source": "folder"}
    )
    batch = Batch.objects.get()
    assert response.status_code == 302 and batch.status == Batch.Status.RECEIVING
    files_url = reverse("batches:batch-files", args=[batch.pk])
    for group in (["shoot/S1/a.jpg", "shoot/S1/b.jpg"], ["shoot/S2/a.jpg"]):
        files = [SimpleUploadedFile(p.rsplit("/", 1)[-1], photo()) for p in group]
        answer = member_client.post(files_url, {"files": files, "paths": group})
        assert answer.status_code == 200 and answer.content == b""
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(reverse("batches:batch-files-done", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.READY
    assert {s.name: s.job.uploads.count() for s in batch.skus.all()} == {"S1": 2, "S2": 1}
    assert not batch.files.exists()  # the raw files are gone once the photos are in the SKUs' jobs


def test_files_named_by_sku_without_javascript_in_one_request(
    member_client, django_capture_on_commit_callbacks
):
    files = [SimpleUploadedFile(n, photo()) for n in ("K1_front.jpg", "K1_back.jpg", "K2_a.jpg")]
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("batches:batch-new-files"),
            {"name": "F", "project": "P", "source": "files", "sku_pattern": "{sku}_*", "files": files},
        )
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.READY
    assert sorted(batch.skus.values_list("name", flat=True)) == ["K1", "K2"]


def test_a_bad_pattern_is_shown_next_to_its_field_and_nothing_is_made(member_client):
    response = member_client.post(
        reverse("batches:batch-new-files"),
        {"name": "F", "project": "P", "source": "files", "sku_pattern": "x_*"},
    )
    assert response.status_code == 400 and "{sku} exactly once" in response.content.decode()
    assert not Batch.objects.exists()


def test_the_preview_lists_the_skus_a_pattern_makes_of_the_names(member_client):
    response = member_client.post(
        reverse("batches:batch-preview"),
        {
            "source": "files",
            "sku_pattern": "{sku}_{anything}.jpg",
            "names": ["A_1.jpg", "A_2.jpg", "B_1.jpg", "zz.png"],
        },
    )
    page = response.content.decode()
    assert "<strong>2</strong> SKUs" in page and "zz.png" in page


def test_start_from_presets_runs_every_sku_and_the_batch_zip_follows_the_template(
    member_client, team, member, three_skus, django_capture_on_commit_callbacks
):
    batch = zip_batch(team, member, three_skus)
    preset = factories.make_preset(team=team)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            reverse("batches:batch-start", args=[batch.pk]),
            {
                "presets": [preset.pk],
                "engine": "local",
                "naming_template": "{sku}_{instruction}_{variation}.{ext}",
            },
        )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RUNNING and batch.instructions[0]["preset_name"] == preset.name
    page = member_client.get(batch.get_absolute_url()).content.decode()
    assert "Local engine (free)" in page and "credits" not in page.split("batch-credits")[1][:80]
    data = b"".join(member_client.get(reverse("batches:batch-zip", args=[batch.pk])).streaming_content)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "SKU-1_1_1.jpg" in names and "batch.json" in names


def test_start_with_a_bad_template_shows_the_error_and_starts_nothing(
    member_client, team, member, three_skus
):
    batch = zip_batch(team, member, three_skus)
    response = member_client.post(
        reverse("batches:batch-start", args=[batch.pk]),
        {"json_text": '[{"style": "white_cutout"}]', "engine": "local", "naming_template": "{sku}.{ext}"},
    )
    assert response.status_code == 400 and "must contain" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.READY
    assert not Job.objects.exclude(status=Job.Status.DRAFT).exists()


def test_piktid_is_not_offered_to_a_team_without_a_connection(member_client, team, member, three_skus):
    batch = zip_batch(team, member, three_skus)
    response = member_client.post(
        reverse("batches:batch-start", args=[batch.pk]),
        {
            "json_text": '[{"style": "white_cutout"}]',
            "engine": "piktid",
            "naming_template": "{sku}_{style}_{variation}.{ext}",
        },
    )
    assert response.status_code == 400 and Batch.objects.get().status == Batch.Status.READY


def test_credits_page_counts_piktid_jobs_only_and_owners_set_the_budget(client, team, member):
    factories.make_job(team=team, status=Job.Status.COMPLETED)  # local: free, not counted
    owner = factories.make_user("olga@example.com", team=team, role="owner")
    job = factories.make_job(team=team, status=Job.Status.COMPLETED)
    Job.objects.filter(pk=job.pk).update(
        engine="piktid", credits_used=15, remote_job_id="r1", queued_at=job.created_at
    )
    client.force_login(member)
    page = client.get(reverse("batches:credits")).content.decode()
    assert "<strong>15</strong> PiktID credits over 1 job" in page and "1 local-engine job" in page
    assert client.post(reverse("batches:credit-budget"), {"monthly_credits": 10}).status_code == 302
    assert not TeamBudget.objects.exists()  # a member may not
    client.force_login(owner)
    client.post(reverse("batches:credit-budget"), {"monthly_credits": 18})
    page = client.get(reverse("batches:credits")).content.decode()
    assert "15 of 18 credits used this month (83%)" in page and "At 18 new PiktID jobs are blocked" in page
    client.post(reverse("batches:credit-budget"), {"monthly_credits": 15})
    assert "are blocked until" in client.get(reverse("batches:credits")).content.decode()


def test_another_teams_credits_and_budget_are_never_shown(outsider_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.COMPLETED)
    Job.objects.filter(pk=job.pk).update(
        engine="piktid", credits_used=99, remote_job_id="r1", queued_at=job.created_at
    )
    TeamBudget.objects.create(team=team, monthly_credits=100)
    page = outsider_client.get(reverse("batches:credits")).content.decode()
    assert "<strong>0</strong> PiktID credits" in page and "99" not in page and "No budget" in page


def test_a_stranger_is_sent_to_log_in_before_a_zip_body_is_read(client, db):
    archive = SimpleUploadedFile("a.zip", make_zip({"A/a.jpg": photo()}))
    response = client.post(
        reverse("batches:batch-new-zip"), {"name": "x", "project": "y", "archive": archive}
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Batch.objects.exists()


def test_the_list_shows_a_batch_whose_jobs_all_ended_as_finished(batch, member_client):
    page = member_client.get(reverse("batches:batch-list")).content.decode()
    assert "Finished" in page and batch.name in page


def test_the_credits_page_shows_the_connected_accounts_last_balance(member_client, team, fake_piktid):
    from packshots import services
    from tests.piktid.fixtures import FAKE_TOKEN

    assert "no PiktID connection" in member_client.get(reverse("batches:credits")).content.decode()
    services.piktid_connect(team=team, user=None, token=FAKE_TOKEN, base_url=fake_piktid.base_url)
    page = member_client.get(reverse("batches:credits")).content.decode()
    assert "<strong>1000</strong> credits on the account" in page


def test_folder_paths_with_control_characters_or_climbing_are_refused_not_stored(member_client):
    member_client.post(reverse("batches:batch-new-files"), {"name": "F", "project": "P", "source": "folder"})
    batch = Batch.objects.get()
    files = [SimpleUploadedFile("a.jpg", photo()), SimpleUploadedFile("b.jpg", photo())]
    answer = member_client.post(
        reverse("batches:batch-files", args=[batch.pk]),
        {"files": files, "paths": ["S/a\x00.jpg", "../b.jpg"]},
    )
    assert answer.status_code == 200 and answer.content.decode().count("points outside") == 2
    assert not batch.files.exists()


def test_a_zip_entry_named_with_a_control_character_is_reported_printably(team, member):
    batch = zip_batch(team, member, {"S/ok.jpg": photo(), "S/bell\x07name.txt": b"text"})
    assert batch.status == Batch.Status.READY
    assert [r["path"] for r in batch.report] == ["S/bell?name.txt"]
