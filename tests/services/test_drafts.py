"""Photos of a draft: what is stored, and how it is read."""

import hashlib
import io

import numpy as np
import pytest
from django.core.files.base import File
from django.urls import reverse
from PIL import Image

from packshots import services
from packshots.errors import JobStateError, UploadRejectedError
from packshots.models import Upload
from tests import factories

GPS_IFD = 0x8825


def phone_jpeg(orientation: int = 6) -> bytes:
    """A phone snap: GPS position, camera make/model/serial and date in its EXIF, a comment, an XMP packet."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Acme", "Phone 9", "2026:05:01 10:00:00"
    exif[0x0112] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (45.0, 45.0, 30.0), 3: "E", 4: (4.0, 50.0, 10.0)})
    exif.get_ifd(0x8769)[0xA431] = "SN-12345"
    buffer = io.BytesIO()
    image = Image.open(io.BytesIO(factories.photo_bytes(size=(320, 240))))
    image.save(buffer, "JPEG", exif=exif, comment=b"at home", xmp=b"<x:xmpmeta>Lyon</x:xmpmeta>")
    return buffer.getvalue()


def test_a_served_original_has_no_gps_or_camera_and_stays_upright(member_client, team, member):
    job = factories.make_draft(team=team, user=member, photos=0)
    original = phone_jpeg(orientation=6)
    upload = services.upload_add(
        job=job, uploaded_by=member, file=File(io.BytesIO(original), name="snap.jpg")
    )
    response = member_client.get(reverse("packshots:upload-file", args=[upload.pk, "original"]))
    served = b"".join(response.streaming_content)
    for personal in (b"Acme", b"Phone 9", b"SN-12345", b"2026:05:01", b"at home", b"Lyon"):
        assert personal not in served
    with Image.open(io.BytesIO(served)) as image:
        assert not image.getexif().get_ifd(GPS_IFD) and dict(image.getexif()) == {0x0112: 6}
        stored_pixels = np.asarray(image)
    assert np.array_equal(stored_pixels, np.asarray(Image.open(io.BytesIO(original))))
    assert (upload.width, upload.height) == (240, 320)
    # The checksum and size describe the file we keep (and serve), not the one that was sent.
    assert upload.sha256 == hashlib.sha256(served).hexdigest() and upload.bytes == len(served) < len(original)


class ChunksOnly(io.BytesIO):
    """A file that refuses to be read whole: every read must ask for a bounded piece."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 <= size <= 1024 * 1024, f"read({size}) of a whole upload"
        return super().read(size)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_photo_is_checked_and_stored_from_bounded_reads(team, member, fmt):
    job = factories.make_draft(team=team, user=member, photos=0)
    data = factories.photo_bytes(size=(1200, 1600), fmt=fmt)
    upload = services.upload_add(job=job, uploaded_by=member, file=File(ChunksOnly(data), name=f"big.{fmt}"))
    assert (upload.width, upload.height, upload.bytes) == (1200, 1600, len(data))


def test_a_photo_no_packshot_can_come_from_is_refused_with_its_size_and_nothing_is_kept(team, member):
    job = factories.make_draft(team=team, user=member, photos=0)
    strip = io.BytesIO()
    Image.new("RGB", (6400, 625), "white").save(strip, "PNG")
    with pytest.raises(UploadRejectedError, match=r"^strip\.png: This image is 6400×625 px; its sides"):
        services.upload_add(job=job, uploaded_by=member, file=File(strip, name="strip.png"))
    assert not Upload.objects.exists()


def test_a_removed_photo_cannot_be_changed_by_a_request_still_holding_it(team, member):
    job = factories.make_draft(team=team, user=member, photos=2)
    first, second = job.uploads.all()
    stale = Upload.objects.get(pk=first.pk)
    services.upload_remove(upload=first)
    with pytest.raises(Exception, match="no longer in this job"):
        services.upload_update_note(upload=stale, note="back view")
    services.upload_make_main(upload=second)
    assert list(job.uploads.values_list("order", flat=True)) == [0]


def test_a_started_jobs_photos_and_instructions_stay_fixed_even_for_a_stale_page(team, member):
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    stale = type(job).objects.get(pk=job.pk)
    factories.start_job(job)
    for change in (
        lambda: services.job_set_options(
            job=stale, engine="local", options={"model": "auto"}, post_process=False
        ),
        lambda: services.job_remove_instruction(job=stale, index=0),
        lambda: services.upload_make_main(upload=stale.uploads.get()),
        lambda: services.job_discard(job=stale),
    ):
        with pytest.raises(JobStateError, match="already been started"):
            change()
