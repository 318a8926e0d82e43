"""The task worker to run in production: django-tasks-db's db_worker plus a heartbeat and the reaper.

Every few seconds the worker says it is alive; every few beats it looks for workers that stopped saying so
(killed with SIGKILL, out of memory, their machine gone) and fails their running tasks, resuming the work at
once; once a minute one of the workers also resumes jobs that went quiet (what `resume_jobs` does) — no cron.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from packshots.services import maintenance
from packshots.services.jobs import jobs_resume

log = logging.getLogger(__name__)

BEAT_SECONDS = 5
REAP_EVERY_BEATS = 3


class Command(DbWorkerCommand):
    help = "Run a task worker (db_worker) that reports a heartbeat and resumes the work of workers that died."

    def handle(self, *args, **options) -> None:
        worker_id = options["worker_id"]
        # Beat once before taking any task: a PiktID create sent by this worker names it as the sender, and
        # another worker reconciles that create as soon as this one's heartbeat goes silent.
        maintenance.worker_started(worker_id=worker_id, host=socket.gethostname(), pid=os.getpid())
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(worker_id, stop), name="heartbeat", daemon=True)
        beat.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            beat.join(timeout=BEAT_SECONDS * 2)
            close_old_connections()
            maintenance.worker_gone(worker_id=worker_id)


def _heartbeat(worker_id: str, stop: threading.Event) -> None:
    host, pid = socket.gethostname(), os.getpid()
    dead_after = timedelta(seconds=settings.PACKSHOT_WORKER_DEAD_AFTER_S)
    beats = 0
    while True:
        try:
            close_old_connections()
            maintenance.worker_heartbeat(worker_id=worker_id, host=host, pid=pid)
            if beats % REAP_EVERY_BEATS == 0:
                maintenance.workers_reap(dead_after=dead_after)
                # Jobs that went quiet for any other reason (a lost task, a poller that stopped): what
                # `resume_jobs` does, by one worker a minute, so no cron is needed.
                if maintenance.chore_due(name="resume", every=timedelta(minutes=1)):
                    jobs_resume(stale_after=timedelta(minutes=settings.PACKSHOT_RESUME_AFTER_MIN))
        except Exception:  # a locked database or a lost connection: try again at the next beat
            log.exception("Worker %s: heartbeat failed", worker_id)
        beats += 1
        if stop.wait(BEAT_SECONDS):
            close_old_connections()
            return
