"""`manage.py create_packshot`: parity with PiktID's script, on the shared garment photos."""

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from packshots.models import Job, Project
from tests import factories


@pytest.fixture
def garment_folder(garments, tmp_path):
    folder = tmp_path / "blue-shirt"
    folder.mkdir()
    for name in ("shirt_00e745c9.jpg", "shirt_10cb59c5.jpg"):
        shutil.copy(garments / name, folder / name)
    (folder / ".hidden.jpg").write_bytes(b"skip me")
    (folder / "readme.txt").write_text("not an image")
    return folder


@pytest.fixture
def demo(db):
    team = factories.make_team("Demo")
    factories.make_user("demo@example.com", team=team, role="owner")
    return team


@pytest.mark.slow
def test_cli_runs_a_job_to_completion_and_writes_outputs(demo, garment_folder, tmp_path):
    out = tmp_path / "out"
    call_command(
        "create_packshot",
        "--input-folder",
        str(garment_folder),
        "--output-folder",
        str(out),
        "--style",
        "white_cutout",
        "--num-variations",
        "2",
        "--size",
        "1K",
        "--aspect-ratio",
        "3:4",
        "--format",
        "png",
        "--image-notes",
        "front view",
        "back view",
        "--seed",
        "7",
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "metadata.json",
        "output_0_0_v0.png",
        "output_0_1_v0.png",
    ]
    image = Image.open(out / "output_0_0_v0.png")
    assert (image.format, image.size) == ("PNG", (768, 1024))
    assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 255)
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["status"] == "completed" and metadata["summary"]["successful"] == 2
    job = Job.objects.get()
    assert job.project.name == "blue-shirt" and job.status == Job.Status.COMPLETED
    assert [u.note for u in job.uploads.all()] == ["front view", "back view"]
    assert [u.original_name for u in job.uploads.all()] == ["shirt_00e745c9.jpg", "shirt_10cb59c5.jpg"]


@pytest.mark.slow
def test_cli_reads_an_instructions_file(demo, garment_folder, tmp_path):
    out = tmp_path / "out"
    instructions = tmp_path / "example.json"
    instructions.write_text(
        json.dumps(
            {
                "instructions": [
                    {"style": "flat_lay", "surface": "oak"},
                    {"style": "free", "background": "navy"},
                ]
            }
        )
    )
    call_command(
        "create_packshot",
        "--input-folder",
        str(garment_folder),
        "--output-folder",
        str(out),
        "--instructions-file",
        str(instructions),
        "--project",
        "Imported",
    )
    assert {"output_0_0_v0.jpg", "output_1_0_v0.jpg"} <= {p.name for p in out.iterdir()}
    assert Project.objects.filter(name="Imported").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--num-variations", "9"], "must be 1–8"),
        (["--num-variations", "0"], "must be 1–8"),
        (["--model", "gpt_image", "--use-anchor", "--anchor-index", "2"], "anchor_index"),
        (["--team", "nope"], "No team with slug 'nope'"),
    ],
)
def test_cli_bad_flags_get_a_one_line_error_and_store_nothing(demo, garment_folder, args, message):
    with pytest.raises(CommandError, match=message) as info:
        call_command("create_packshot", "--input-folder", str(garment_folder), *args)
    assert "\n" not in str(info.value)
    assert not Job.objects.exists() and not Project.objects.exists()


def test_cli_rejects_unknown_enum_values(demo, garment_folder):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_packshot", "--input-folder", str(garment_folder), "--style", "cubist")


def test_cli_explains_a_missing_folder_and_an_empty_one(demo, tmp_path):
    with pytest.raises(CommandError, match="Input folder not found"):
        call_command("create_packshot", "--input-folder", str(tmp_path / "missing"))
    with pytest.raises(CommandError, match=r"No \.jpg, \.jpeg or \.png images"):
        call_command("create_packshot", "--input-folder", str(tmp_path))


def test_cli_explains_malformed_instruction_json(demo, garment_folder, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"style": "free"')
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command(
            "create_packshot", "--input-folder", str(garment_folder), "--instructions-file", str(bad)
        )
    assert not Job.objects.exists()


def test_cli_rejects_a_broken_photo_without_leaving_a_job_or_a_file(
    demo, garment_folder, settings, django_capture_on_commit_callbacks
):
    (garment_folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    before = stored_files(settings.MEDIA_ROOT)
    # The photos accepted before the broken one are deleted once the discard commits.
    with (
        pytest.raises(CommandError, match=r"zz_broken\.jpg"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("create_packshot", "--input-folder", str(garment_folder))
    assert not Job.objects.exists() and not Project.objects.exists()
    assert stored_files(settings.MEDIA_ROOT) == before


def stored_files(root) -> set[str]:
    return {str(p) for p in Path(root).rglob("*") if p.is_file()}


def test_cli_reports_a_crash_as_a_failed_job_with_a_clean_error(demo, garment_folder, monkeypatch):
    from packshots.engines.local.adapter import LocalEngine

    def crash(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(LocalEngine, "render", crash)
    with pytest.raises(CommandError, match="did not complete") as info:
        call_command(
            "create_packshot", "--input-folder", str(garment_folder), "--output-folder", "/tmp/cli-crash"
        )
    assert "disk full" in str(info.value)
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert set(job.results.values_list("status", flat=True)) == {"failed"}


def test_cli_keeps_the_first_ten_of_more_images(demo, garments, tmp_path, capsys):
    folder = tmp_path / "many"
    folder.mkdir()
    for path in sorted(garments.glob("*.jpg"))[:11]:
        shutil.copy(path, folder / path.name)
    with pytest.raises(CommandError, match="anchor_index"):  # stop before rendering: we only check selection
        call_command("create_packshot", "--input-folder", str(folder), "--use-anchor", "--anchor-index", "5")
    assert "Using the first 10" in capsys.readouterr().err
