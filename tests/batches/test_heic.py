"""HEIC/HEIF photos (made here with pillow-heif), EXIF orientation and colour profiles on upload."""

import io
import struct

import pillow_heif
from PIL import Image, ImageCms

from packshots import imaging, services
from packshots.imaging.decode import load_image, probe
from tests import factories

GPS_IFD = 0x8825


def heic_bytes(size=(300, 200), *, orientation=1, color=(200, 40, 60), icc: bytes | None = None) -> bytes:
    image = Image.new("RGB", size, (225, 222, 215))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), color), (size[0] // 4, size[1] // 4))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (45.0, 30.0, 0.0)})
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=90, exif=exif.tobytes(), icc_profile=icc)
    return buffer.getvalue()


def test_a_heic_photo_is_stored_as_an_upright_jpeg_without_gps_and_its_thumbnail_made(team, member):
    job = factories.make_draft(team=team, user=member, photos=0)
    data = heic_bytes(orientation=6)
    assert data[4:12] == b"ftypheic"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = services.upload_add(
        job=job, uploaded_by=member, file=SimpleUploadedFile("IMG_0001.HEIC", data, "image/heic")
    )
    assert upload.content_type == "image/jpeg" and upload.file.name.endswith(".jpeg")
    assert (upload.width, upload.height) == (200, 300)  # rotated a quarter turn, as the phone showed it
    with upload.file.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
    assert stored.format == "JPEG" and stored.size == (200, 300)
    exif = stored.getexif()
    assert not exif.get_ifd(GPS_IFD) and 0x010F not in exif
    with upload.thumbnail.open("rb") as f:
        assert Image.open(f).size == (200, 300)
    # The red block is still in the middle after the rotation (pixels, not just the header).
    r, g, _b = stored.convert("RGB").getpixel((100, 150))
    assert r > 150 and g < 90


def test_probe_describes_a_heic_as_the_jpeg_it_is_stored_as():
    info = probe(heic_bytes(orientation=6))
    assert (info.format, info.content_type, info.orientation) == ("JPEG", "image/jpeg", 1)
    assert (info.width, info.height) == (200, 300)


def swapped_rgb_profile() -> bytes:
    """A minimal ICC v2 RGB profile whose red and green primaries are sRGB's swapped ("Swapped RGB").

    Its pure red is sRGB's pure green, so a conversion shows at a glance. Built by hand: Pillow only makes
    sRGB, LAB and XYZ profiles.
    """

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = b"Swapped RGB\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)),  # sRGB's green primary (D50)
        (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red primary
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0" * 4
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 4
        + b"\0" * 16
        + b"\0" * 28
    )
    assert len(header) == 128
    return header + table + body


def test_an_rgb_photo_in_another_profile_is_converted_to_srgb_for_what_we_derive_not_in_the_original(
    team, member
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    icc = swapped_rgb_profile()
    assert "Swapped" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (255, 0, 0)).save(buffer, "JPEG", quality=95, icc_profile=icc)
    data = buffer.getvalue()
    r, g, b = load_image(data).getpixel((100, 100))
    assert g > 200 and r < 60, (r, g, b)  # shown as it looks: green
    r, g, b = load_image(data, max_side=64).getpixel((32, 32))
    assert g > 200 and r < 60, (r, g, b)
    job = factories.make_draft(team=team, user=member, photos=0)
    upload = services.upload_add(job=job, uploaded_by=member, file=SimpleUploadedFile("p.jpg", data))
    with upload.thumbnail.open("rb") as f:
        r, g, b = Image.open(f).convert("RGB").getpixel((100, 100))
    assert g > 200 and r < 60
    with upload.file.open("rb") as f:
        original = Image.open(io.BytesIO(f.read()))
    assert original.info.get("icc_profile") == icc  # the original is kept as it was, profile and pixels
    assert original.getpixel((100, 100))[0] > 200


def test_an_srgb_or_unprofiled_photo_is_left_as_it_is():
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (100, 100), (255, 0, 0)).save(buffer, "PNG", icc_profile=srgb)
    assert load_image(buffer.getvalue()).getpixel((50, 50)) == (255, 0, 0)
    assert imaging.load_image(factories.photo_bytes()).mode == "RGB"
