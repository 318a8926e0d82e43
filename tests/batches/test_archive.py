"""Hostile ZIPs: bombs, lying sizes, path tricks, nested archives, links, non-images: reported, never used."""

import io
import stat
import zipfile

import pytest

from batches import archive
from batches.models import Batch
from batches.naming import clean_path
from tests.batches.conftest import make_zip, photo, zip_batch

LIMITS = archive.Limits(max_entries=50, max_total_bytes=10 * 2**20, max_file_bytes=2 * 2**20)


def test_a_zip_with_too_many_entries_is_refused_whole_from_its_directory():
    data = make_zip({f"S/{i}.jpg": b"x" for i in range(51)})
    with pytest.raises(archive.ArchiveError, match="holds 51 files; a batch takes at most 50"):
        archive.entries(zipfile.ZipFile(io.BytesIO(data)), LIMITS)


def test_a_zip_bomb_is_refused_from_its_declared_size_before_anything_is_inflated():
    data = make_zip({f"S/{i}.jpg": b"\0" * (3 * 2**20) for i in range(4)})  # 12 MB from a few KB
    assert len(data) < 100_000
    with pytest.raises(archive.ArchiveError, match="unpacks to 12 MB"):
        archive.entries(zipfile.ZipFile(io.BytesIO(data)), LIMITS)


def test_an_entry_that_inflates_past_its_declared_size_is_stopped_at_the_declared_size():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("S/a.jpg", b"\0" * 500_000)
    raw = bytearray(buffer.getvalue())
    # Make both headers claim 1,000 bytes: a lying archive (the CRC check would come too late to help).
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(header)
        raw[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    zf = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    usable, _ = archive.entries(zf, LIMITS)
    # zipfile stops inflating at the declared size (then the CRC fails): never more bytes than declared.
    with pytest.raises(archive.EntryError, match=r"more than the archive says|could not be unpacked"):
        archive.Unpacker(zf, LIMITS).open(usable[0])


@pytest.mark.parametrize(
    "name",
    ["../evil.jpg", "S/../../evil.jpg", "/etc/passwd", "C:/Windows/x.jpg", "..\\..\\evil.jpg", "a\x00.jpg"],
)
def test_names_that_climb_out_or_are_absolute_are_refused(name):
    assert clean_path(name) is None


def test_an_encrypted_entry_is_reported_not_opened():
    raw = bytearray(make_zip({"S/locked.jpg": b"secret"}))
    for header, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit
        raw[raw.find(header) + offset] |= 0x1
    usable, skipped = archive.entries(zipfile.ZipFile(io.BytesIO(bytes(raw))), LIMITS)
    assert not usable and skipped == {"S/locked.jpg": "encrypted; ignored"}


def test_path_tricks_nested_archives_and_links_are_reported_and_never_used():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../outside.jpg", photo())
        zf.writestr("S/inner.zip", make_zip({"T/a.jpg": photo()}))
        link = zipfile.ZipInfo("S/link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("S/good.jpg", photo())
        zf.writestr("__MACOSX/S/._good.jpg", b"resource fork")
        zf.writestr("S/.DS_Store", b"finder")
    usable, skipped = archive.entries(zipfile.ZipFile(buffer), LIMITS)
    assert [e.path for e in usable] == ["S/good.jpg"]
    assert skipped == {
        "../../outside.jpg": "a name that points outside the archive; ignored",
        "S/inner.zip": "an archive inside the ZIP is not opened; ignored",
        "S/link.jpg": "a symbolic link; ignored",
    }


def test_a_hostile_zip_batch_keeps_the_good_photos_and_names_every_file_it_did_not_use(
    team, member, settings
):
    entries = {
        "../../escape.jpg": photo(),
        "SKU1/front.jpg": photo(),
        "SKU1/nested.zip": make_zip({"X/a.jpg": photo()}),
        "SKU1/readme.txt": b"hello",
        "SKU1/fake.jpg": b"\xff\xd8\xff\xe0 not really",
        "SKU1/huge.png": b"\0" * (3 * 2**20),
    }
    settings.PACKSHOT_MAX_UPLOAD_MB = 2
    batch = zip_batch(team, member, entries)
    assert batch.status == Batch.Status.READY
    sku = batch.skus.get()
    assert sku.name == "SKU1" and sku.job.uploads.count() == 1
    report = {r["path"]: r["message"] for r in batch.report}
    assert set(report) == {
        "../../escape.jpg",
        "SKU1/nested.zip",
        "SKU1/readme.txt",
        "SKU1/fake.jpg",
        "SKU1/huge.png",
    }
    assert "not an image" in report["SKU1/readme.txt"] and "2 MB" in report["SKU1/huge.png"]
    assert "truncated or corrupt" in report["SKU1/fake.jpg"] or "not an image" in report["SKU1/fake.jpg"]


def test_a_zip_bomb_batch_fails_with_the_reason_and_keeps_nothing(team, member, settings):
    settings.BATCH_MAX_UNPACKED_MB = 5
    batch = zip_batch(team, member, {f"S{i}/a.jpg": b"\0" * (2 * 2**20) for i in range(4)})
    assert batch.status == Batch.Status.FAILED and "unpacks to 8 MB" in batch.error
    assert not batch.skus.exists() and not batch.archive.name


def test_more_skus_than_a_batch_takes_fails_the_batch(team, member, settings):
    settings.BATCH_MAX_SKUS = 2
    batch = zip_batch(team, member, {f"S{i}/a.jpg": photo() for i in range(3)})
    assert batch.status == Batch.Status.FAILED and "3 SKUs; a batch takes at most 2" in batch.error
