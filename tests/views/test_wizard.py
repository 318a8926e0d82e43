"""The new-job wizard through the Django test client, bad input included."""

import io
import json
import os
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from PIL import Image

from packshots.models import Job, Preset, Upload
from tests import factories

HX = {"HX-Request": "true"}


def start_wizard(client, project) -> Job:
    response = client.post(reverse("packshots:job-new", args=[project.pk]))
    job = Job.objects.get(project=project, status=Job.Status.DRAFT)
    assert response["Location"] == reverse("packshots:wizard-photos", args=[job.pk])
    return job


def upload(client, job, *files, note="", htmx=True):
    headers = HX if htmx else {}
    return client.post(
        reverse("packshots:wizard-photos", args=[job.pk]),
        {"photos": list(files), "note": note},
        headers=headers,
    )


def test_member_goes_through_the_whole_wizard_and_gets_results(
    member_client, team, member, django_capture_on_commit_callbacks
):
    project = factories.make_project(team=team, user=member)
    preset = factories.make_preset(team=team, name="Marketplace")
    job = start_wizard(member_client, project)

    response = upload(member_client, job, factories.photo_file("front.jpg"), factories.photo_file("back.png"))
    assert response.status_code == 200 and "front.jpg" in response.text and "back.png" in response.text
    back = job.uploads.get(original_name="back.png")
    member_client.post(reverse("packshots:upload-note", args=[back.pk]), {"note": "back view"}, headers=HX)
    back.refresh_from_db()
    assert back.note == "back view"

    url = reverse("packshots:wizard-instructions", args=[job.pk])
    member_client.post(url, {"action": "presets", "pick-presets": [preset.pk]}, headers=HX)
    custom = {
        "action": "custom",
        "custom-style": "flat_lay",
        "custom-num_variations": "2",
        "custom-size": "2K",
    }
    response = member_client.post(url, custom, headers=HX)
    assert response.status_code == 200
    job.refresh_from_db()
    assert [i["style"] for i in job.instructions] == ["white_cutout", "flat_lay"]
    assert job.instructions[0]["preset_name"] == "Marketplace"
    assert job.instructions[1]["angle"] == "top_down"  # forced for flat lay
    assert (job.total_outputs, job.estimated_credits) == (3, 3 + 2 * 5)

    review = member_client.get(reverse("packshots:wizard-review", args=[job.pk]))
    assert "13 credits" in review.text
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            reverse("packshots:wizard-review", args=[job.pk]),
            {"engine": "local", "model": "auto", "action": "start"},
            headers=HX,
        )
    assert response.status_code == 200 and response["HX-Redirect"] == job.get_absolute_url()
    job.refresh_from_db()
    # The small test photo is upscaled over 3× at 1K, which the engine flags for review.
    assert job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW) and job.progress == 100
    results = list(job.results.order_by("instruction_index", "variation_index"))
    assert [(r.instruction_index, r.variation_index, r.status) for r in results] == [
        (0, 0, "completed"),
        (1, 0, "completed"),
        (1, 1, "completed"),
    ]
    assert (results[1].width, results[1].height) == (2048, 2048)
    assert all(r.model_used == "local" and r.confidence is not None for r in results)

    page = member_client.get(job.get_absolute_url())
    assert "Download all (ZIP)" in page.text and "output_1_1_v0.jpg" in page.text
    fragment = member_client.get(job.get_absolute_url(), headers=HX).text
    assert fragment.count(">Cutout</a> · confidence") == 2  # each photo's segmentation, shown as it lands
    image = member_client.get(reverse("packshots:result-file", args=[results[0].pk, "image"]))
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size == (1024, 1024)


def test_job_page_polls_until_the_job_is_terminal(member_client, team):
    running = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    fragment = member_client.get(running.get_absolute_url(), headers=HX)
    assert 'hx-trigger="load delay:' in fragment.text and "<html" not in fragment.text
    assert fragment["Vary"] and "HX-Request" in fragment["Vary"]
    done = factories.make_job(team=team, status=Job.Status.COMPLETED)
    assert "hx-trigger" not in member_client.get(done.get_absolute_url(), headers=HX).text


def test_zip_holds_outputs_named_like_the_official_client_and_metadata(member_client, team, member):
    job = factories.make_draft(
        team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 2}]
    )
    factories.start_job(job)
    response = member_client.get(reverse("packshots:job-zip", args=[job.pk]) + "?names=piktid")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["metadata.json", "output_0_0_v0.jpg", "output_0_1_v0.jpg"]
    metadata = json.loads(archive.read("metadata.json"))
    assert metadata["summary"]["successful"] == 2
    assert {r["download_filename"] for r in metadata["results"]} == {"output_0_0_v0.jpg", "output_0_1_v0.jpg"}
    assert Image.open(io.BytesIO(archive.read("output_0_1_v0.jpg"))).format == "JPEG"


def test_non_image_file_is_rejected_by_name_and_nothing_is_stored(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    fake = SimpleUploadedFile("notes.jpg", b"this is not a photo", content_type="image/jpeg")
    response = upload(member_client, job, fake)
    assert "notes.jpg" in response.text and "not an image" in response.text
    assert not Upload.objects.exists()


def test_truncated_photo_is_rejected(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    data = factories.photo_bytes(size=(600, 800))
    response = upload(member_client, job, SimpleUploadedFile("cut.jpg", data[: len(data) // 2]))
    assert "cut.jpg" in response.text and "truncated" in response.text.lower()
    assert job.uploads.count() == 0


def test_image_over_the_pixel_cap_is_rejected(member_client, team, settings):
    settings.PACKSHOT_MAX_PIXELS = 100 * 100
    job = factories.make_draft(team=team, photos=0)
    response = upload(member_client, job, factories.photo_file("huge.jpg", size=(300, 300)))
    assert "huge.jpg" in response.text and "limit" in response.text
    assert job.uploads.count() == 0


def test_eleventh_photo_is_refused_and_the_ten_stay(member_client, team):
    job = factories.make_draft(team=team, photos=10)
    response = upload(member_client, job, factories.photo_file("eleven.jpg"))
    assert "at most 10 photos" in response.text
    assert job.uploads.count() == 10


def test_good_photos_in_a_batch_are_kept_when_one_is_bad(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    bad = SimpleUploadedFile("bad.png", b"\x89PNG garbage")
    response = upload(member_client, job, factories.photo_file("good.jpg"), bad)
    assert "bad.png" in response.text
    assert list(job.uploads.values_list("original_name", flat=True)) == ["good.jpg"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"num_variations": "9"}, ['data-field="num_variations">must be 1–8']),
        ({"num_variations": "0"}, ['data-field="num_variations">must be 1–8']),
        ({"width": "1001", "height": "1000"}, ["multiple of 8"]),
        ({"width": "1000"}, ["width and height must be set together"]),
        ({"width": "4200", "height": "1000"}, ["between 1:4 and 4:1"]),
        ({"style": "cubist", "shadow": "laser"}, ['data-field="style"', 'data-field="shadow"']),
    ],
)
def test_invalid_custom_instruction_shows_errors_next_to_fields_and_adds_nothing(
    member_client, team, fields, expected
):
    job = factories.make_draft(team=team)
    data = {"action": "custom", "custom-style": "white_cutout", "custom-num_variations": "1"}
    data.update({f"custom-{name}": value for name, value in fields.items()})
    response = member_client.post(reverse("packshots:wizard-instructions", args=[job.pk]), data, headers=HX)
    assert response.status_code == 200
    for fragment in expected:
        assert fragment in response.text
    job.refresh_from_db()
    assert job.instructions == []


def test_instructions_json_is_imported_and_malformed_json_is_explained(member_client, team, tmp_path):
    job = factories.make_draft(team=team)
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    response = member_client.post(
        url, {"action": "json", "json-json_text": '[{"style": "flat_lay",'}, headers=HX
    )
    assert "not valid JSON" in response.text
    job.refresh_from_db()
    assert job.instructions == []
    good = json.dumps({"instructions": [{"style": "free", "num_variations": 2}, {"style": "white_cutout"}]})
    member_client.post(url, {"action": "json", "json-json_text": good}, headers=HX)
    job.refresh_from_db()
    assert [i["style"] for i in job.instructions] == ["free", "white_cutout"] and job.total_outputs == 3


def test_json_with_a_bad_instruction_adds_none_of_them(member_client, team):
    job = factories.make_draft(team=team)
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    text = json.dumps([{"style": "free"}, {"style": "free", "num_variations": 0}])
    response = member_client.post(url, {"action": "json", "json-json_text": text}, headers=HX)
    assert "instruction #2, num_variations: must be 1–8" in response.text
    job.refresh_from_db()
    assert job.instructions == []


def test_empty_job_cannot_start(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    response = member_client.post(
        reverse("packshots:wizard-review", args=[job.pk]),
        {"engine": "local", "model": "auto", "action": "start"},
    )
    assert response.status_code == 200
    assert "need 1–10 images" in response.text or "images" in response.text
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT


def test_anchor_index_out_of_range_is_an_error_on_the_field(member_client, team):
    job = factories.make_draft(team=team, instructions=[factories.WHITE_CUTOUT])
    response = member_client.post(
        reverse("packshots:wizard-review", args=[job.pk]),
        {"engine": "local", "model": "auto", "use_anchor": "on", "anchor_index": "3", "action": "start"},
        headers=HX,
    )
    assert 'data-field="anchor_index"' in response.text
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT and job.options == {"model": "auto"}


def test_started_job_can_no_longer_be_edited(member_client, team):
    job = factories.make_job(team=team, status=Job.Status.QUEUED)
    response = member_client.get(reverse("packshots:wizard-photos", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()  # not a 404
    upload_row = job.uploads.first()
    member_client.post(reverse("packshots:upload-remove", args=[upload_row.pk]))
    assert Upload.objects.filter(pk=upload_row.pk).exists()


def test_project_names_are_unique_per_team(member_client, team, member):
    factories.make_project(team=team, user=member, name="Spring")
    response = member_client.post(reverse("packshots:project-list"), {"name": "spring"})
    assert "already has a project" in response.text


def test_preset_library_create_edit_import_export(member_client, team):
    response = member_client.post(
        reverse("packshots:preset-create"),
        {
            "name": "Hero 4K",
            "categories": "PDP, Hero",
            "style": "ghost_mannequin",
            "num_variations": "1",
            "size": "4K",
        },
    )
    assert response.status_code == 302
    text = json.dumps([{"style": "flat_lay", "surface": "oak", "preset_name": "Oak flat lay"}])
    member_client.post(reverse("packshots:preset-import"), {"json_text": text})
    export = json.loads(member_client.get(reverse("packshots:preset-export")).content)
    names = {item["preset_name"] for item in export}
    assert names == {"Hero 4K", "Oak flat lay"}
    hero = next(item for item in export if item["preset_name"] == "Hero 4K")
    assert hero["category_names"] == ["PDP", "Hero"] and hero["options"] == {"size": "4K"}
    bad = member_client.post(
        reverse("packshots:preset-create"), {"name": "Bad", "style": "free", "num_variations": "0"}
    )
    assert "must be 1–8" in bad.text


def test_custom_instruction_can_be_shared_to_the_library_in_one_step(member_client, team):
    job = factories.make_draft(team=team)
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    data = {
        "action": "custom",
        "custom-style": "free",
        "custom-num_variations": "1",
        "custom-share_as": "Navy hero",
    }
    member_client.post(url, {**data, "custom-background": "navy"}, headers=HX)
    job.refresh_from_db()
    assert len(job.instructions) == 1
    preset = Preset.objects.get(team=team, name="Navy hero")
    assert preset.instruction == {"style": "free", "background": "navy"}


def test_sharing_under_a_taken_name_adds_nothing(member_client, team):
    factories.make_preset(team=team, name="Navy hero")
    job = factories.make_draft(team=team)
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    data = {
        "action": "custom",
        "custom-style": "free",
        "custom-num_variations": "1",
        "custom-share_as": "navy hero",
    }
    response = member_client.post(url, data, headers=HX)
    assert 'data-field="share_as">The library already has a preset' in response.text
    job.refresh_from_db()
    assert job.instructions == [] and Preset.objects.count() == 1


def test_a_job_nobody_picks_up_says_a_worker_is_missing(member_client, team):
    from datetime import timedelta

    from django.utils import timezone

    job = factories.make_job(team=team, status=Job.Status.QUEUED)
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(minutes=2))
    assert "Waiting for a task worker" in member_client.get(job.get_absolute_url()).text
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now())
    assert "Waiting for a task worker" not in member_client.get(job.get_absolute_url()).text


def test_other_teams_objects_get_the_friendly_404_page(outsider_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.COMPLETED)
    response = outsider_client.get(job.get_absolute_url())
    assert response.status_code == 404 and "belongs to a team you are not in" in response.text


def test_discarding_a_draft_removes_it_and_its_photos(
    member_client, team, django_capture_on_commit_callbacks
):
    job = factories.make_draft(team=team, photos=2)
    names = [u.file.name for u in job.uploads.all()]
    storage = job.uploads.first().file.storage
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("packshots:job-discard", args=[job.pk]))
    assert response["Location"] == job.project.get_absolute_url()
    assert not Job.objects.filter(pk=job.pk).exists() and not Upload.objects.exists()
    assert not any(storage.exists(name) for name in names)


def test_a_started_job_cannot_be_discarded(member_client, team):
    job = factories.make_job(team=team, status=Job.Status.COMPLETED)
    assert member_client.post(reverse("packshots:job-discard", args=[job.pk])).status_code == 404
    assert Job.objects.filter(pk=job.pk).exists()


def test_a_finished_job_seeds_a_new_draft_with_its_own_copy_of_the_photos(member_client, team, member):
    job = factories.start_job(
        factories.make_draft(team=team, user=member, photos=2, instructions=[{"style": "free"}])
    )
    response = member_client.post(reverse("packshots:job-duplicate", args=[job.pk]))
    draft = Job.objects.get(status=Job.Status.DRAFT)
    assert response["Location"] == reverse("packshots:wizard-instructions", args=[draft.pk])
    assert draft.instructions == job.instructions and draft.total_outputs == 1
    originals = {u.sha256: u.file.name for u in job.uploads.all()}
    copies = {u.sha256: u.file.name for u in draft.uploads.all()}
    assert originals.keys() == copies.keys() and not set(originals.values()) & set(copies.values())
    member_client.post(reverse("packshots:job-discard", args=[draft.pk]))
    assert all(u.file.storage.exists(u.file.name) for u in job.uploads.all())


def test_job_instructions_download_round_trips_through_the_schema(member_client, team, member):
    from packshots import instructions as schema

    example = (factories.FIXTURES / "example_instructions.json").read_text()
    job = factories.make_draft(team=team, user=member, instructions=schema.load_instructions(example))
    text = member_client.get(reverse("packshots:job-instructions", args=[job.pk])).content.decode()
    assert schema.load_instructions(text) == [
        schema.normalize_instruction(i) for i in schema.load_instructions(example)
    ]


def test_an_instruction_is_edited_in_place_keeping_what_the_form_cannot_show(member_client, team):
    rich = {
        "style": "marketing_ready",
        "background": {"text": "sunlit terrace", "image": "file-123"},
        "props": 4,
        "preset_name": "Terrace",
        "category_names": ["Campaign"],
        "options": {"size": "2K", "seed": 11},
    }
    job = factories.make_draft(team=team, instructions=[factories.WHITE_CUTOUT, rich])
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    page = member_client.get(url + "?edit=1")
    assert "Edit instruction #2" in page.text and 'value="sunlit terrace"' in page.text
    data = {
        "action": "custom",
        "custom-replace": "1",
        "custom-style": "marketing_ready",
        "custom-background": "sunlit terrace",
        "custom-num_variations": "3",
        "custom-size": "4K",
    }
    response = member_client.post(url, data, headers=HX)
    assert "Updated 1 instruction." in response.text
    job.refresh_from_db()
    assert job.instructions[0] == factories.WHITE_CUTOUT
    assert job.instructions[1] == {
        "style": "marketing_ready",
        "background": {"text": "sunlit terrace", "image": "file-123"},
        "props": 4,
        "num_variations": 3,
        "options": {"size": "4K", "seed": 11},
        "preset_name": "Terrace",
        "category_names": ["Campaign"],
    }
    assert (job.total_outputs, job.estimated_credits) == (4, 3 + 3 * 10)


def test_editing_with_a_bad_value_changes_nothing(member_client, team):
    job = factories.make_draft(team=team, instructions=[factories.WHITE_CUTOUT])
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    data = {"action": "custom", "custom-replace": "0", "custom-style": "free", "custom-num_variations": "0"}
    response = member_client.post(url, data, headers=HX)
    assert "must be 1–8" in response.text and "Edit instruction #1" in response.text
    job.refresh_from_db()
    assert job.instructions == [factories.WHITE_CUTOUT]


def test_editing_a_preset_keeps_its_design_objects(member_client, team):
    preset = factories.make_preset(
        team=team, instruction={"style": "free", "lighting": {"direction": "left"}}
    )
    member_client.post(
        reverse("packshots:preset-edit", args=[preset.pk]),
        {
            "name": preset.name,
            "style": "free",
            "lighting": "left",
            "num_variations": "2",
            "categories": "PDP",
        },
    )
    preset.refresh_from_db()
    assert preset.instruction == {"style": "free", "lighting": {"direction": "left"}, "num_variations": 2}


def test_member_cancels_a_running_job_from_its_page(member_client, team):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=2)
    assert "Cancel job" in member_client.get(job.get_absolute_url()).text
    response = member_client.post(reverse("packshots:job-cancel", args=[job.pk]), follow=True)
    assert f"Job #{job.pk} canceled." in response.text and "Cancel job" not in response.text
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    again = member_client.post(reverse("packshots:job-cancel", args=[job.pk]), follow=True)
    assert "already finished" in again.text


def test_jobs_list_filters_by_status_and_hides_drafts(member_client, team):
    done = factories.make_job(team=team, status=Job.Status.COMPLETED)
    failed = factories.make_job(team=team, status=Job.Status.FAILED)
    draft = factories.make_draft(team=team)
    page = member_client.get(reverse("packshots:job-list")).text
    assert f">#{done.pk}<" in page and f">#{failed.pk}<" in page and f">#{draft.pk}<" not in page
    page = member_client.get(reverse("packshots:job-list") + "?status=failed").text
    assert f">#{failed.pk}<" in page and f">#{done.pk}<" not in page


def test_preset_import_explains_bad_json_and_imports_nothing(member_client, team):
    response = member_client.post(reverse("packshots:preset-import"), {"json_text": '{"instructions": 3}'})
    assert response.status_code == 200
    assert "&quot;instructions&quot; must be a list, not a number" in response.text
    assert not Preset.objects.exists()


def test_preset_is_deleted_from_the_library(member_client, team):
    preset = factories.make_preset(team=team)
    response = member_client.post(reverse("packshots:preset-delete", args=[preset.pk]), follow=True)
    assert f"Preset “{preset.name}” deleted." in response.text
    assert not Preset.objects.exists()


def test_an_oversized_instructions_file_is_refused(member_client, team):
    job = factories.make_draft(team=team)
    big = SimpleUploadedFile("huge.json", b"[" + b" " * (600 * 1024) + b"]", content_type="application/json")
    response = member_client.post(
        reverse("packshots:wizard-instructions", args=[job.pk]), {"action": "json", "json-json_file": big}
    )
    assert 'data-field="json_file">The file is larger than 512 KB.' in response.text
    job.refresh_from_db()
    assert job.instructions == []


def test_member_picks_the_main_photo_that_the_local_engine_renders_from(member_client, team, member):
    job = factories.make_draft(team=team, user=member, photos=3)
    third = job.uploads.order_by("order").last()
    member_client.post(reverse("packshots:upload-make-main", args=[third.pk]))
    assert list(job.uploads.values_list("original_name", flat=True)) == [
        "photo2.jpg",
        "photo0.jpg",
        "photo1.jpg",
    ]
    page = member_client.get(reverse("packshots:wizard-photos", args=[job.pk])).text
    assert page.index("photo2.jpg") < page.index("Main photo") < page.index("photo0.jpg")


# ---------------------------------------------------------------- upload caps while the body streams


def test_a_photo_over_the_size_limit_is_dropped_in_transit_and_the_others_kept(
    member_client, team, settings, tmp_path
):
    settings.PACKSHOT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    job = factories.make_draft(team=team, photos=0)
    big = SimpleUploadedFile("big.jpg", os.urandom(3 * 1024 * 1024), content_type="image/jpeg")
    response = upload(member_client, job, factories.photo_file("good.jpg"), big)
    assert response.status_code == 200 and "big.jpg: the file is over the 1 MB limit." in response.text
    assert list(job.uploads.values_list("original_name", flat=True)) == ["good.jpg"]
    assert list(tmp_path.iterdir()) == []  # the partial temporary file went at once


def test_an_upload_over_the_request_cap_is_refused_whole_before_any_file_is_read(
    member_client, team, settings, tmp_path
):
    settings.PACKSHOT_MAX_UPLOAD_MB = 1  # 10 photos of 1 MB + 1 MB of fields: 11 MB a request
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    job = factories.make_draft(team=team, photos=0)
    files = [factories.photo_file("good.jpg")] + [
        SimpleUploadedFile(f"big{i}.jpg", os.urandom(6 * 1024 * 1024)) for i in range(2)
    ]
    response = upload(member_client, job, *files)
    assert response.status_code == 200
    assert (
        "one upload may be at most 11 MB (10 photos of up to 1 MB). Nothing of it was kept." in response.text
    )
    assert job.uploads.count() == 0 and list(tmp_path.iterdir()) == []


def test_a_huge_content_length_is_refused_without_reading_the_body(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(noisy, "JPEG", quality=95)
    photo = SimpleUploadedFile("photo.jpg", noisy.getvalue(), content_type="image/jpeg")
    body = encode_multipart(BOUNDARY, {"photos": [photo], "note": ""})
    assert len(body) > 64 * 1024  # the test client refuses reads past the body: a read would fail the test
    response = member_client.generic(
        "POST",
        reverse("packshots:wizard-photos", args=[job.pk]),
        body,
        content_type=MULTIPART_CONTENT,
        headers=HX,
        CONTENT_LENGTH=str(2**40),  # "1 TiB is coming"
    )
    assert (
        response.status_code == 200
        and "This upload is 1,048,576 MB; one upload may be at most" in response.text
    )
    assert job.uploads.count() == 0


def test_photos_past_the_tenth_are_not_read_and_the_first_ten_are_kept(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    response = upload(member_client, job, *(factories.photo_file(f"p{i}.jpg") for i in range(12)))
    assert "p10.jpg and any photo after it: a job takes at most 10 photos." in response.text
    assert job.uploads.count() == 10 and "p11.jpg" not in response.text


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims the size and whose pixel data is empty: refused sizes are never decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((1, 40_000_000), "This image is 1×40000000 px; a photo needs at least 64 px on each side"),
        ((40_000_000, 1), "This image is 40000000×1 px; a photo needs at least 64 px on each side"),
        ((64_000, 625), "This image is 64000×625 px; a photo may be at most 12,000 px on a side"),
        ((6_000, 700), "This image is 6000×700 px; its sides may differ at most 8:1"),
    ],
)
def test_shapes_no_packshot_can_come_from_are_refused_at_upload(member_client, team, size, message):
    job = factories.make_draft(team=team, photos=0)
    response = upload(member_client, job, SimpleUploadedFile("odd.png", png_header(*size)))
    assert f"odd.png: {message}" in response.text
    assert job.uploads.count() == 0


def test_a_refused_upload_from_a_plain_form_still_passes_the_csrf_check(team, member, settings):
    from django.test import Client

    settings.PACKSHOT_MAX_UPLOAD_MB = 1
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    job = factories.make_draft(team=team, photos=0)
    url = reverse("packshots:wizard-photos", args=[job.pk])
    token = client.get(url).context["csrf_token"]
    big = [SimpleUploadedFile(f"big{i}.jpg", os.urandom(6 * 1024 * 1024)) for i in range(2)]
    # The token comes before the files, as in the page's form: it is read, the files are not.
    response = client.post(url, {"csrfmiddlewaretoken": str(token), "photos": big, "note": ""})
    assert response.status_code == 200 and "one upload may be at most 11 MB" in response.text
    assert job.uploads.count() == 0
