"""Retention: files in storage that no row references (left by a crash between a file write and its row)."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from packshots.storage import is_s3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    name: str
    modified: datetime
    size: int


def referenced_names() -> set[str]:
    """Every file name held by a FileField of any model (uploads, results, batches, ...)."""
    names: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                names.update(
                    model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
                )
    return names


def stored_files(storage=default_storage) -> Iterator[StoredFile]:
    """Every file in storage with its modification time (one listing on S3, a walk on local files)."""
    if is_s3(storage):
        prefix = f"{storage.location.strip('/')}/" if storage.location else ""
        for obj in storage.bucket.objects.filter(Prefix=prefix):
            yield StoredFile(obj.key[len(prefix) :], obj.last_modified, obj.size)
        return
    folders = [""]
    while folders:
        folder = folders.pop()
        subfolders, files = storage.listdir(folder)
        folders.extend(f"{folder}{sub}/" for sub in subfolders)
        for file in files:
            name = f"{folder}{file}"
            yield StoredFile(name, storage.get_modified_time(name), storage.size(name))


def orphaned_files(*, older_than: timedelta, now: datetime | None = None) -> list[StoredFile]:
    """Files no row references, last changed more than `older_than` ago (younger ones may be mid-upload)."""
    cutoff = (now or timezone.now()) - older_than
    # Listed before the references are read: a file written meanwhile is then either young or referenced.
    candidates = [f for f in stored_files() if f.modified < cutoff]
    referenced = referenced_names()
    return [f for f in candidates if f.name not in referenced]


def orphaned_files_delete(*, files: list[StoredFile]) -> int:
    for file in files:
        default_storage.delete(file.name)
        log.info("Deleted orphaned file %s", file.name, extra={"file": file.name, "bytes": file.size})
    return len(files)
