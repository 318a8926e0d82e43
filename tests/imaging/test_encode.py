import io

from PIL import Image

from packshots.imaging import encode, thumbnail


def test_jpg_and_png_encode_to_their_formats():
    image = Image.new("RGB", (64, 48), (200, 10, 10))
    assert Image.open(io.BytesIO(encode(image, "jpg"))).format == "JPEG"
    assert Image.open(io.BytesIO(encode(image, "png"))).format == "PNG"


def test_png_is_lossless():
    image = Image.effect_noise((32, 32), 50).convert("RGB")
    assert Image.open(io.BytesIO(encode(image, "png"))).tobytes() == image.tobytes()


def test_thumbnail_fits_max_side_from_bytes_and_images():
    big = Image.new("RGB", (1200, 800), "green")
    from_image = Image.open(io.BytesIO(thumbnail(big, max_side=300)))
    from_bytes = Image.open(io.BytesIO(thumbnail(encode(big, "png"))))
    assert from_image.size == (300, 200) and from_image.format == "JPEG"
    assert from_bytes.size == (480, 320)


def test_thumbnail_never_upscales():
    assert Image.open(io.BytesIO(thumbnail(Image.new("RGB", (100, 50))))).size == (100, 50)
