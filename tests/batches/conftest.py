import io
import zipfile

import pytest
from django.test import TestCase

from batches import services
from batches.models import Batch
from tests import factories

CUTOUT = [factories.WHITE_CUTOUT]


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def photo(color=(200, 40, 60)) -> bytes:
    return factories.photo_bytes(color=color)


def zip_batch(team, user, entries: dict[str, bytes], *, pattern: str = "") -> Batch:
    """A ZIP batch checked by its task (the immediate backend runs it once the upload commits)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    batch = services.batch_create(
        team=team, author=user, name="Spring", project_name="Spring drop", source="zip", sku_pattern=pattern
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_store_archive(batch=batch, file=SimpleUploadedFile("skus.zip", make_zip(entries)))
    batch.refresh_from_db()
    return batch


def start(batch: Batch, instructions=None, engine="local", naming="{sku}/{sku}_{style}_{variation}.{ext}"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_start(
            batch=batch, instructions=instructions or CUTOUT, engine=engine, naming_template=naming
        )
    batch.refresh_from_db()
    return batch


@pytest.fixture
def three_skus() -> dict[str, bytes]:
    return {
        "catalogue/SKU-1/front.jpg": photo(),
        "catalogue/SKU-1/back.jpg": photo((30, 60, 200)),
        "catalogue/SKU-2/front.jpg": photo((20, 160, 40)),
        "catalogue/SKU-3/a.png": factories.photo_bytes(fmt="PNG"),
    }
