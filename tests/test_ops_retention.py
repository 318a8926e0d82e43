"""prune_orphaned_files: files no row references, older than N hours, deleted (or listed with --dry-run)."""

import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from tests import factories


def _aged(name: str, hours: float) -> str:
    """Back-date a local file's modification time."""
    then = time.time() - hours * 3600
    os.utime(default_storage.path(name), (then, then))
    return name


@pytest.fixture
def files(team, member, settings, tmp_path):
    # A storage of its own: other tests' files must not count as orphans here.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    job = factories.make_draft(team=team)
    upload = job.uploads.get()
    _aged(upload.file.name, 48)
    return {
        "kept": upload.file.name,
        "old_orphan": _aged(default_storage.save("teams/1/results/lost.jpg", ContentFile(b"x" * 10)), 30),
        "young_orphan": _aged(default_storage.save("teams/1/results/new.jpg", ContentFile(b"y")), 2),
    }


def _run(*args) -> str:
    out = StringIO()
    call_command("prune_orphaned_files", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_lists_old_orphans_and_deletes_nothing(files):
    output = _run("--older-than-hours", "24", "--dry-run")

    assert files["old_orphan"] in output
    assert files["young_orphan"] not in output and files["kept"] not in output
    assert "1 orphaned files (10 bytes) would be deleted (dry run)." in output
    assert all(default_storage.exists(name) for name in files.values())


def test_old_orphans_are_deleted_and_referenced_or_young_files_kept(files):
    output = _run("--older-than-hours", "24")

    assert "Deleted 1 orphaned files (10 bytes)." in output
    assert not default_storage.exists(files["old_orphan"])
    assert default_storage.exists(files["kept"]) and default_storage.exists(files["young_orphan"])
    assert factories.Job.objects.get().uploads.get().file.read()[:2] == b"\xff\xd8"


def test_a_window_under_an_hour_is_refused(files):
    with pytest.raises(CommandError, match="at least 1"):
        _run("--older-than-hours", "0")

    assert all(default_storage.exists(name) for name in files.values())
