"""`manage.py batch_create_packshot`: parity with PiktID's batch script, through the app's services."""

import io
import json
import shutil

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from batches.models import Batch
from packshots.models import Job
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

EXAMPLE = factories.FIXTURES / "example_instructions.json"


@pytest.fixture
def demo(transactional_db):
    # Threads use their own database connections: they must see committed rows (transactional_db).
    team = factories.make_team("Demo")
    factories.make_user("demo@example.com", team=team, role="owner")
    return team


@pytest.fixture
def sku_dir(garments, tmp_path):
    """Three SKU folders of small copies of the shared photos (plus one folder without photos)."""
    root = tmp_path / "catalogue"
    sources = sorted(garments.glob("*.jpg"))
    for i, sku in enumerate(("SKU-A", "SKU-B", "SKU-C")):
        (root / sku).mkdir(parents=True)
        for j in range(2 if sku == "SKU-A" else 1):
            image = Image.open(sources[i * 2 + j])
            image.thumbnail((320, 320))
            image.convert("RGB").save(root / sku / f"photo{j}.jpg", quality=85)
    (root / "EMPTY").mkdir()
    (root / "EMPTY" / "notes.txt").write_text("no photo here")
    return root


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("batch_create_packshot", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def summary_of(out_dir) -> dict:
    (path,) = out_dir.glob("batch_summary_*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_local_batch_writes_one_folder_per_sku_and_a_summary_like_the_official_one(demo, sku_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="1 of 4 folders failed"):
        run(
            "--input-dir", str(sku_dir), "--output-dir", str(out), "--parallel", "2",
            "--style", "white_cutout", "--size", "1K", "--aspect-ratio", "1:1", "--format", "jpg",
        )  # fmt: skip
    summary = summary_of(out)
    assert summary["total_folders"] == 4 and summary["successful"] == 3 and summary["failed"] == 1
    assert summary["configuration"]["parallel"] == 2 and summary["configuration"]["engine"] == "local"
    rows = {r["folder"]: r for r in summary["results"]}
    assert rows["EMPTY"]["success"] is False and "No .jpg, .jpeg or .png images" in rows["EMPTY"]["error"]
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        assert rows[sku]["success"] and rows[sku]["outputs"] == ["output_0_0_v0.jpg"]
        assert (out / sku / "output_0_0_v0.jpg").is_file() and (out / sku / "metadata.json").is_file()
        assert rows[sku]["processing_time"] >= 0
    # The run is a batch in the app: its page shows it, and its jobs are ordinary jobs.
    batch = Batch.objects.get()
    assert batch.name == "catalogue" and batch.status == Batch.Status.RUNNING
    assert sorted(batch.skus.values_list("name", flat=True)) == ["SKU-A", "SKU-B", "SKU-C"]
    assert Job.objects.get(pk=rows["SKU-A"]["job_id"]).uploads.count() == 2


def test_parallel_is_capped_at_five_and_input_folders_must_exist(demo, sku_dir, tmp_path):
    with pytest.raises(CommandError, match="Folder not found"):
        run(
            "--input-folders",
            str(sku_dir / "SKU-A"),
            str(tmp_path / "missing"),
            "--output-dir",
            str(tmp_path),
        )
    with pytest.raises(CommandError, match="Input directory not found"):
        run("--input-dir", str(tmp_path / "nope"))
    assert not Batch.objects.exists()


def test_a_bad_instructions_file_stops_before_anything_is_stored(demo, sku_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"style": "nope"}]')
    with pytest.raises(CommandError, match="instruction #1, style"):
        run("--input-dir", str(sku_dir), "--instructions-file", str(bad), "--output-dir", str(tmp_path / "o"))
    assert not Batch.objects.exists() and not Job.objects.exists()


def test_piktid_batch_in_parallel_never_gets_a_429_through_the_shared_limiter(
    demo, sku_dir, tmp_path, fake_piktid, settings
):
    # A small window so the test is quick: 2 creations per 1.5 s at the fake and in our limiter.
    fake_piktid.create_limit, fake_piktid.create_window = 2, 1.5
    settings.PIKTID_CREATE_LIMIT, settings.PIKTID_CREATE_WINDOW_S = 2, 1.5
    for extra in ("SKU-D", "SKU-E"):
        shutil.copytree(sku_dir / "SKU-B", sku_dir / extra)
    shutil.rmtree(sku_dir / "EMPTY")
    out = tmp_path / "out"
    text = run(
        "--input-dir", str(sku_dir), "--output-dir", str(out), "--parallel", "9", "--engine", "piktid",
        "--token", FAKE_TOKEN, "--base-url", fake_piktid.base_url, "--instructions-file", str(EXAMPLE),
        "--poll-interval", "0.05",
    )  # fmt: skip
    summary = summary_of(out)
    assert summary["successful"] == 5 and summary["configuration"]["parallel"] == 5
    statuses = [r.status for r in fake_piktid.requests_to("POST", "/create-packshot")]
    assert statuses == [202] * 5, statuses  # never a 429
    times = sorted(r.at for r in fake_piktid.creations())
    assert all(b - a >= 1.5 - 0.05 for a, b in zip(times, times[2:], strict=False))  # ≤ 2 per window
    # The SKUs are alike (one project, same instructions): each create may wait for the previous answer.
    assert "Waiting for PiktID's limit" in text or "Waiting for a job like this one" in text
    for sku in ("SKU-A", "SKU-E"):
        assert len(list((out / sku).glob("output_*.jpg"))) == 4
