"""Fixtures of the service tests: the real database task queue instead of the immediate backend."""

import contextlib

import pytest
from django.tasks import task_backends
from django.test import override_settings

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _forget_task_backends() -> None:
    # Django caches the TASKS setting and its backends; drop both so the next use reads the current setting.
    task_backends.__dict__.pop("settings", None)
    with contextlib.suppress(AttributeError):
        del task_backends["default"]


@pytest.fixture
def db_tasks():
    with override_settings(TASKS=DB_TASKS):
        _forget_task_backends()
        yield
    _forget_task_backends()
