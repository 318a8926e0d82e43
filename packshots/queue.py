"""The one door from services to the task queue, so services never import tasks.

`packshots.tasks` registers each task here when the app loads; services ask for work by task name. Work
asked for inside a transaction leaves only once it commits (Django's documented way; it also keeps the code
right on a queue that is not the database).
"""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.tasks import Task, default_task_backend
from django_tasks_db.backend import DatabaseBackend

_TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    _TASKS[task.name] = task
    return task


def is_registered(name: str) -> bool:
    return name in _TASKS


def supports_later() -> bool:
    """Can the backend run a task later (run_after)? The database worker can; the immediate backend cannot."""
    return default_task_backend.supports_defer


def enqueue(name: str, *, run_after: datetime | None = None, **kwargs) -> None:
    """Run task `name` with `kwargs` once the current transaction commits (at once outside one).

    `run_after` needs a backend that defers (the database worker); elsewhere the caller must not ask for it.
    """
    task = _TASKS[name]
    if run_after is not None:
        task = task.using(run_after=run_after)
    if transaction.get_connection().in_atomic_block and isinstance(task.get_backend(), DatabaseBackend):
        # The database queue's task row commits or rolls back with the work itself: the same guarantee as
        # on_commit, without a second commit per request.
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(partial(task.enqueue, **kwargs))
