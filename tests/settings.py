"""Test settings: the real settings, plus fast hashing, immediate tasks and a throwaway media folder."""

import os
import tempfile

# Each test process (each xdist worker) gets its own folder, so no test sees another's files.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["PACKSHOT_VAR_DIR"] = tempfile.mkdtemp(prefix=f"packshot-test-{_worker}-")

from config.settings import *  # noqa: E402, F403 (the folder must be chosen before settings load)
from config.settings import STORAGES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise warns about a missing folder)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, as in production: concurrent tests then wait for the lock (timeout) like the real app does,
    # where an in-memory shared-cache database fails at once with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
