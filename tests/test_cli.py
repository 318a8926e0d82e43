"""`manage.py create_packshot`: parity with PiktID's script, on the shared garment photos."""

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from packshots import services
from packshots.models import Job, Project
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def garment_folder(garments, tmp_path):
    folder = tmp_path / "blue-shirt"
    folder.mkdir()
    for name in ("shirt_00e745c9.jpg", "shirt_10cb59c5.jpg"):
        shutil.copy(garments / name, folder / name)
    (folder / ".hidden.jpg").write_bytes(b"skip me")
    (folder / "readme.txt").write_text("not an image")
    return folder


@contextlib.contextmanager
def allowing_review():
    """Real photos: the engine may flag a cutout; the CLI then writes every file and exits 2."""
    try:
        yield
    except CommandError as exc:
        if exc.returncode != 2:
            raise
        assert Job.objects.get().status == Job.Status.NEEDS_REVIEW


@pytest.fixture
def demo(db):
    team = factories.make_team("Demo")
    factories.make_user("demo@example.com", team=team, role="owner")
    return team


@pytest.mark.slow
def test_cli_runs_a_job_to_completion_and_writes_outputs(demo, garment_folder, tmp_path):
    out = tmp_path / "out"
    with allowing_review():
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
    job = Job.objects.get()
    assert metadata["status"] == job.status and metadata["summary"]["successful"] == 2
    assert job.project.name == "blue-shirt" and job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
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
    with allowing_review():
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
        (["--poll-interval", "0"], "above 0"),
        (["--timeout", "nan"], "above 0"),
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
    assert "Internal error while rendering (RuntimeError)" in str(info.value)
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


# ---------------------------------------------------------------- --engine piktid, against the fake PiktID

EXAMPLE_INSTRUCTIONS = ROOT / "tests" / "fixtures" / "example_instructions.json"
EXAMPLE_FILES = ["output_0_0_v0.jpg", "output_0_1_v0.jpg", "output_0_2_v0.jpg", "output_1_0_v0.jpg"]
DEAD_URL = "http://127.0.0.1:9"  # nothing listens: a call that goes there fails


@pytest.fixture
def piktid_env(fake_piktid, settings):
    """PiktID settings pointing nowhere useful, so each test says which token and server it means."""
    settings.PIKTID_TOKEN = None
    settings.PIKTID_BASE_URL = DEAD_URL
    return fake_piktid


def run_piktid(folder: Path, out: Path, *flags: str, stdout: io.StringIO | None = None) -> None:
    call_command(
        "create_packshot",
        "--engine",
        "piktid",
        "--input-folder",
        str(folder),
        "--output-folder",
        str(out),
        "--instructions-file",
        str(EXAMPLE_INSTRUCTIONS),
        "--poll-interval",
        "0.05",
        *flags,
        stdout=stdout or io.StringIO(),
    )


def fake_results(fake, remote_job_id: str) -> dict:
    answer = httpx.get(
        fake.url(f"/jobs/{remote_job_id}/results"), headers={"Authorization": f"Bearer {FAKE_TOKEN}"}
    )
    answer.raise_for_status()
    return answer.json()


def test_cli_runs_the_example_instructions_on_piktid_like_the_official_client(
    demo, garment_folder, tmp_path, piktid_env
):
    out, stdout = tmp_path / "out", io.StringIO()
    run_piktid(garment_folder, out, "--token", FAKE_TOKEN, "--base-url", piktid_env.base_url, stdout=stdout)
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", *EXAMPLE_FILES]
    job = Job.objects.get()
    assert job.engine == "piktid" and job.status == Job.Status.COMPLETED
    remote = fake_results(piktid_env, job.remote_job_id)
    assert json.loads((out / "metadata.json").read_text()) == remote  # PiktID's /results JSON itself
    for item in remote["results"]:  # each file is PiktID's output, byte for byte
        name = f"output_{item['group_index']}_{item['image_index']}_v{item['version']}.jpg"
        assert (out / name).read_bytes() == httpx.get(item["output"]["full_size"]).content
    assert len(piktid_env.creations()) == 1 and piktid_env.count("POST", "/upload") == 2
    assert "Progress: 4/4 outputs (completed)" in stdout.getvalue()


def test_cli_writes_what_piktid_made_when_some_outputs_fail_and_exits_non_zero(
    demo, garment_folder, tmp_path, piktid_env
):
    piktid_env.plan_next_job(failed_outputs={(0, 1): "The model refused this garment"})
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="did not complete") as info:
        run_piktid(garment_folder, out, "--token", FAKE_TOKEN, "--base-url", piktid_env.base_url)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == [
        "metadata.json",
        "output_0_0_v0.jpg",
        "output_0_2_v0.jpg",
        "output_1_0_v0.jpg",
    ]
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata == fake_results(piktid_env, Job.objects.get().remote_job_id)
    assert metadata["summary"]["failed"] == 1
    assert Job.objects.get().status == Job.Status.NEEDS_REVIEW


def test_cli_refused_team_token_is_marked_like_any_401(demo, garment_folder, tmp_path, piktid_env):
    piktid_env.add_account("team-token-0123456789")
    connection_row = services.piktid_connect(
        team=demo, user=None, token="team-token-0123456789", base_url=piktid_env.base_url
    )
    del piktid_env.accounts["team-token-0123456789"]  # revoked at PiktID since
    with pytest.raises(CommandError, match=r"PiktID refused the team's saved token \(401\)"):
        run_piktid(garment_folder, tmp_path / "out", "--base-url", piktid_env.base_url)
    connection_row.refresh_from_db()
    assert connection_row.token_invalid_at is not None and not Job.objects.exists()


def test_cli_token_flag_wins_over_the_team_connection_and_piktid_token(
    demo, garment_folder, tmp_path, piktid_env, settings
):
    piktid_env.add_account("team-token-0123456789")
    services.piktid_connect(team=demo, user=None, token="team-token-0123456789", base_url=piktid_env.base_url)
    settings.PIKTID_TOKEN = "environment-token-unknown-to-piktid"
    settings.PIKTID_BASE_URL = piktid_env.base_url
    before = len(piktid_env.requests)
    run_piktid(garment_folder, tmp_path / "out", "--token", FAKE_TOKEN)
    sent_with = {r.token for r in piktid_env.requests[before:] if r.token}  # uploads and files carry none
    assert sent_with == {FAKE_TOKEN}
    assert Job.objects.get().status == Job.Status.COMPLETED


def test_cli_uses_the_team_connection_when_no_token_is_given(demo, garment_folder, tmp_path, piktid_env):
    services.piktid_connect(team=demo, user=None, token=FAKE_TOKEN, base_url=piktid_env.base_url)
    run_piktid(garment_folder, tmp_path / "out", "--base-url", piktid_env.base_url)
    assert Job.objects.get().status == Job.Status.COMPLETED


def test_cli_honours_base_url_for_the_piktid_token_setting(
    demo, garment_folder, tmp_path, piktid_env, settings
):
    settings.PIKTID_TOKEN = FAKE_TOKEN  # PIKTID_BASE_URL stays dead: only --base-url can reach the fake
    run_piktid(garment_folder, tmp_path / "out", "--base-url", piktid_env.base_url)
    assert Job.objects.get().status == Job.Status.COMPLETED
    assert len(piktid_env.creations()) == 1


def test_cli_without_any_piktid_token_says_how_to_give_one(demo, garment_folder, tmp_path, piktid_env):
    with pytest.raises(CommandError, match="No PiktID token: pass --token") as info:
        run_piktid(garment_folder, tmp_path / "out", "--base-url", piktid_env.base_url)
    assert "\n" not in str(info.value) and not Job.objects.exists()


def test_cli_with_an_unknown_token_stops_with_one_line_and_stores_nothing(
    demo, garment_folder, tmp_path, piktid_env
):
    with pytest.raises(CommandError, match=r"PiktID refused the token given with --token \(401\)") as info:
        run_piktid(garment_folder, tmp_path / "out", "--token", "nope", "--base-url", piktid_env.base_url)
    assert "\n" not in str(info.value) and "nope" not in str(info.value)
    assert not Job.objects.exists() and not (tmp_path / "out").exists()
    assert piktid_env.creations() == []


@pytest.mark.parametrize("refused_by", ["balance check", "create-packshot"])
def test_cli_a_job_piktid_cannot_pay_for_names_both_numbers(
    demo, garment_folder, tmp_path, piktid_env, refused_by
):
    if refused_by == "balance check":
        piktid_env.accounts[FAKE_TOKEN].credits = 4
    else:  # the balance looked fine, then PiktID's own 402 (another job spent the credits meanwhile)
        body = {"error": "Insufficient credits", "required_credits": 20, "user_credits": 4}
        piktid_env.fail_next("POST", "/create-packshot", 402, body=body)
    with pytest.raises(CommandError) as info:
        run_piktid(garment_folder, tmp_path / "out", "--token", FAKE_TOKEN, "--base-url", piktid_env.base_url)
    assert str(info.value) == "Not enough PiktID credits: this job needs 20, the account has 4."
    assert Job.objects.get().status == Job.Status.FAILED


@pytest.mark.parametrize(
    ("status", "message"),
    [(400, "PiktID refused the job"), (403, "403"), (404, "404")],
)
def test_cli_other_refusals_are_one_line_errors(demo, garment_folder, tmp_path, piktid_env, status, message):
    piktid_env.fail_next("POST", "/create-packshot", status)
    with pytest.raises(CommandError, match=message) as info:
        run_piktid(garment_folder, tmp_path / "out", "--token", FAKE_TOKEN, "--base-url", piktid_env.base_url)
    assert "\n" not in str(info.value)
    assert Job.objects.get().status == Job.Status.FAILED


def test_cli_gives_up_waiting_for_the_limiter_at_its_timeout_and_cancels_the_job(
    demo, garment_folder, tmp_path, piktid_env, settings
):
    settings.PIKTID_CREATE_LIMIT = 0  # no slot will ever free up
    stdout = io.StringIO()
    with pytest.raises(CommandError, match=r"Gave up after 0\.3 s waiting for PiktID's limits"):
        run_piktid(
            garment_folder, tmp_path / "out", "--token", FAKE_TOKEN, "--base-url", piktid_env.base_url,
            "--timeout", "0.3", stdout=stdout,
        )  # fmt: skip
    assert stdout.getvalue().count("Waiting for PiktID's limit") == 1
    assert Job.objects.get().status == Job.Status.CANCELED
    assert piktid_env.creations() == []


@pytest.mark.django_db(transaction=True)
def test_two_cli_runs_at_once_share_the_limiter_and_never_meet_a_429(
    demo, garment_folder, tmp_path, piktid_env, settings
):
    settings.PIKTID_CREATE_LIMIT = 1
    settings.PIKTID_CREATE_WINDOW_S = 2
    piktid_env.create_limit, piktid_env.create_window = 1, 1.5  # PiktID's window is shorter than ours
    outputs = [io.StringIO(), io.StringIO()]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            flags = ("--token", FAKE_TOKEN, "--base-url", piktid_env.base_url)
            run_piktid(garment_folder, tmp_path / f"out{n}", *flags, stdout=outputs[n])
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    creations = piktid_env.creations()
    assert [r.status for r in creations] == [202, 202]  # no 429
    assert creations[1].at - creations[0].at >= 1.5
    # One run waited: for the limiter's window, or first for the other run's alike job (same project and
    # size) to reach PiktID, since two alike jobs in doubt could not be told apart.
    waited = ("Waiting for PiktID's limit", "Waiting for a job like this one")
    assert sum(any(w in o.getvalue() for w in waited) for o in outputs) == 1
    assert list(Job.objects.values_list("status", flat=True)) == ["completed", "completed"]
    assert Project.objects.count() == 1  # both runs used the folder's project
    for n in range(2):
        assert sorted(p.name for p in (tmp_path / f"out{n}").iterdir()) == ["metadata.json", *EXAMPLE_FILES]


# ---------------------------------------------------------------- a fresh clone (real processes)


def manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """`manage.py` in a new process with the real settings and a clean environment (no DATABASE_URL)."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "PACKSHOT_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_fresh_clone_runs_the_cli_without_migrate_and_refusals_exit_non_zero(
    garments, tmp_path, fake_piktid
):
    photos = tmp_path / "one-dress"
    photos.mkdir()
    shutil.copy(garments / "dress_04f0b07f.jpg", photos)
    var_dir = tmp_path / "var"  # does not exist yet: nothing was ever migrated here
    done = manage(
        "create_packshot", "--input-folder", str(photos), "--output-folder", str(tmp_path / "out"),
        "--style", "white_cutout", "--size", "1K", var_dir=var_dir,
    )  # fmt: skip
    # 0 when the cutout is clean, 2 when the engine flagged it for review (the files are written either way).
    assert done.returncode in (0, 2), done.stderr
    status = "completed" if done.returncode == 0 else "needs_review"
    assert "Prepared the embedded database" in done.stdout and f"job status: {status}" in done.stdout
    assert ("Needs review: output_0_0_v0.jpg" in done.stdout) == (done.returncode == 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metadata.json", "output_0_0_v0.jpg"]
    # The database is ready now: a second run goes straight on, and PiktID's 401 is one line and exit 1.
    refused = manage(
        "create_packshot", "--input-folder", str(photos), "--engine", "piktid",
        "--token", "not-a-known-token", "--base-url", fake_piktid.base_url, var_dir=var_dir,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "Prepared" not in refused.stdout
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("CommandError: PiktID refused the token given with --token (401)")
    )
    assert "Traceback" not in refused.stderr


def test_the_cli_never_migrates_a_database_named_by_database_url(garment_folder, tmp_path):
    database = tmp_path / "elsewhere.sqlite3"
    done = manage(
        "create_packshot", "--input-folder", str(garment_folder), var_dir=tmp_path / "var",
        DATABASE_URL=f"sqlite:///{database}",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "CommandError: The database has unapplied migrations: run `python manage.py migrate` first."
    )
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
