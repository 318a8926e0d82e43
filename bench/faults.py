"""Fault suite: 50 jobs across 2 task workers on PostgreSQL, one worker SIGKILLed twice (issue 15).

    .venv/bin/python -m bench.faults --part local  [--jobs 50] [--database bench_f1]
    .venv/bin/python -m bench.faults --part piktid [--jobs 50] [--database bench_f1]

Both parts: a fresh PostgreSQL database (`--database`, dropped and re-created), the Procfile's `worker`
command twice (`python manage.py worker`: db_worker + heartbeat; PACKSHOT_WORKER_DEAD_AFTER_S=`--dead-after`),
jobs of 1 photo from ../shared/garments and 1 or 2 outputs at 1K (odd jobs 2), all started at once.
Worker 0 is SIGKILLed at 12 s and when 20 % of the outputs are done (`--kill-at`; by default one kill
while photos are segmented, one while outputs render), at its next running task (waiting at most 20 s for
one), and restarted `--restart-after` s later, as a supervisor would. Recovery after a kill: from
SIGKILL to the killed worker's running task rows leaving RUNNING (reaped) and to their work being done.

`--part piktid` adds the Procfile's `web` (webhooks), a team connected to the fake PiktID in this process,
and faults at the fake: 1 in 5 API requests (not the S3 PUT/GET) answered 500 — half of those on a POST after
acting (the job exists, the answer is lost) — 1 in 10 answered 429, and webhooks replayed (1 in 4, again
later) and reordered (1 in 4 held back and delivered later in random order, the fake told 200).

Every loop is bounded (`--timeout`); only 127.0.0.1 is used. Prints the figures and the checks; exit 1 if a
check fails (a bug in the app: see bench/README.md).
"""

import argparse
import io
import os
import random
import re
import signal
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

from bench import piktid_stack

GARMENTS = piktid_stack.ROOT.parent / "shared" / "garments"
TOKEN = "bench-faults-token"
ONE = {"style": "white_cutout", "options": {"size": "1K", "ar": "1:1", "format": "jpg"}}
TWO = {"style": "flat_lay", "options": {"size": "1K", "ar": "1:1", "format": "jpg"}}
RENDER = "packshots.tasks.result_render_task"


def photo(n: int) -> tuple[str, bytes]:
    sources = sorted(GARMENTS.glob("*.jpg"))
    source = sources[n % len(sources)]
    if n < len(sources):
        return source.name, source.read_bytes()
    image = Image.open(source).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # a distinct photo
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return f"flipped_{source.name}", buffer.getvalue()


# ---------------------------------------------------------------- the fake with faults


def faulty_fake(seed: int):
    from tests.piktid.fake_server import FakePiktid, Rule

    class FaultyPiktid(FakePiktid):
        """The fake, answering random API requests with 500 (some after acting) or 429 once `faults` is on."""

        faults = False
        injected: Counter

        def _match_rule(self, method: str, path: str) -> Rule | None:
            rule = super()._match_rule(method, path)
            if rule or not self.faults or path.startswith("/s3/"):
                return rule
            with self.lock:
                draw, after = self.rng.random(), self.rng.random() < 0.5
            if draw < 0.2:
                after = after and method == "POST"
                self.injected[f"500{' after acting' if after else ''}"] += 1
                self.injected[f"500 {method} {path.split('/')[1]}"] += 1
                if after:  # e.g. a PiktID job made whose answer is lost: found again only by reconciling
                    self.injected[f"500 after acting {method} {path.split('/')[1]}"] += 1
                return Rule(method, path, 1, 500, after=after)
            if draw < 0.3:
                self.injected["429"] += 1
                return Rule(method, path, 1, 429)
            return None

    fake = FaultyPiktid(create_limit=10, create_window=5, active_limit=10, output_delay=0.3)
    fake.rng, fake.injected = random.Random(seed), Counter()
    return fake


class Webhooks:
    """The fake's delivery hook: posts each event, replays some later and holds some back (reordered)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.held: list[tuple[str, bytes, dict]] = []
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.http = httpx.Client(timeout=10)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._later, daemon=True)
        self.thread.start()

    def __call__(self, url: str, body: bytes, headers: dict) -> int:
        assert url.startswith("http://127.0.0.1:"), url
        draw = self.rng.random()
        if draw < 0.25:
            with self.lock:
                self.held.append((url, body, headers))
            self.counts["held back (reordered)"] += 1
            return 200
        status = self.http.post(url, content=body, headers=headers).status_code
        self.counts[f"delivered {status}"] += 1
        if draw < 0.5:
            with self.lock:
                self.held.append((url, body, headers))
            self.counts["replayed later"] += 1
        return status

    def _later(self) -> None:
        while not self.stop.wait(0.5):
            self.flush(limit=5)

    def flush(self, limit: int = 1000) -> None:
        with self.lock:
            self.rng.shuffle(self.held)
            batch, self.held[:] = self.held[:limit], self.held[limit:]
        for url, body, headers in batch:
            try:
                status = self.http.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.counts[f"late {status}"] += 1


# ---------------------------------------------------------------- the run


def drafts(team, user, engine: str, count: int) -> list[int]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from packshots import services

    project = services.project_create(team=team, created_by=user, name="Faults bench")
    ids = []
    for n in range(count):
        job = services.job_draft_create(project=project, author=user, engine=engine)
        name, data = photo(n)
        services.upload_add(job=job, uploaded_by=user, file=SimpleUploadedFile(name, data, "image/jpeg"))
        services.job_set_instructions(job=job, instructions=[ONE, TWO] if n % 2 else [ONE])
        if engine == "piktid":
            services.job_set_options(job=job, engine="piktid", options={"model": "auto"}, post_process=False)
        ids.append(job.pk)
    return ids


def worker_id_of(pid: int, timeout: float = 20) -> str | None:
    from packshots.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while True:
        found = WorkerHeartbeat.objects.filter(pid=pid).values_list("worker_id", flat=True).first()
        if found or not timeout:
            return found
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    raise RuntimeError(f"worker pid {pid} never reported a heartbeat")


def running_rows(worker_id: str) -> list[dict]:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(status="RUNNING").values(
        "id", "task_path", "args_kwargs", "worker_ids"
    )
    return [r for r in rows if r["worker_ids"] and r["worker_ids"][-1] == worker_id]


def work_done(row: dict) -> bool:
    """Whether the work a killed task row carried is done (its output finished, or its job moved on)."""
    from packshots.models import Job, Result

    kwargs = (row["args_kwargs"] or {}).get("kwargs") or {}
    if "result_id" in kwargs:
        return Result.objects.filter(pk=kwargs["result_id"], status__in=["completed", "failed"]).exists()
    if "job_id" in kwargs:
        job = Job.objects.get(pk=kwargs["job_id"])
        return job.is_terminal or (job.engine == "local" and job.status == "running")
    return True


def run(args: argparse.Namespace, logs: Path, ids: list[int], expected: int) -> dict:
    from django_tasks_db.models import DBTaskResult

    from packshots import services
    from packshots.models import TERMINAL_STATES, Job, Result

    workers = piktid_stack.start_workers(2, logs, interval=1)
    piktid_stack.wait_for_workers(workers, logs)
    for job_id in ids:
        services.job_start(job=Job.objects.get(pk=job_id))
    t0 = time.monotonic()
    kills: list[dict] = []
    victim = worker_id_of(workers[0].pid)
    armed = None
    deadline = t0 + args.timeout
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            for number, kill in enumerate(kills):  # recovery, observed every half second
                open_rows = DBTaskResult.objects.filter(
                    pk__in=[r["id"] for r in kill["rows"]], status="RUNNING"
                )
                if "reaped" not in kill and not open_rows.exists():
                    kill["reaped"] = now - kill["at"]
                if "recovered" not in kill and all(work_done(r) for r in kill["rows"]):
                    kill["recovered"] = now - kill["at"]
                if "restarted" not in kill and now - kill["at"] >= args.restart_after:
                    workers[0] = piktid_stack.start_workers(1, logs / f"restart{number}", interval=1)[0]
                    kill["restarted"] = now - kill["at"]
                    victim = None
            if victim is None and "restarted" in kills[-1]:
                victim = worker_id_of(workers[0].pid, timeout=0)
            done = Result.objects.filter(job_id__in=ids, status__in=["completed", "failed"]).count()
            trigger = args.kill_at[len(kills)] if len(kills) < len(args.kill_at) else None
            if (
                victim
                and trigger is not None
                and (done >= trigger * expected if trigger < 1 else now - t0 >= trigger)
            ):
                armed = armed or now
                rows = running_rows(victim)
                if rows or now - armed > 20:  # at its next running task, or after 20 s without one
                    os.kill(workers[0].pid, signal.SIGKILL)
                    workers[0].wait()
                    kills.append(
                        {
                            "at": time.monotonic(),
                            "wall": time.time(),
                            "t": now - t0,
                            "rows": rows,
                            "done": done,
                        }
                    )
                    victim, armed = None, None
                    tasks = [r["task_path"].rsplit(".", 1)[1] for r in rows]
                    print(
                        f"  SIGKILL worker 0 at {now - t0:.1f} s ({done}/{expected} outputs done), "
                        f"running {tasks}",
                        flush=True,
                    )
            terminal = Job.objects.filter(pk__in=ids, status__in=list(TERMINAL_STATES)).count()
            if terminal == len(ids) and all("recovered" in k and "reaped" in k for k in kills):
                break
            time.sleep(0.5)
    finally:
        piktid_stack.stop(*workers)
    makespan = time.monotonic() - t0
    return {"makespan": makespan, "kills": kills}


# A task SIGKILLed between storing an output's file and recording it leaves that file unreferenced (the
# resumed task stores its own copy); `manage.py prune_orphaned_files` removes such files. Any other
# unreferenced file is a twin's copy that was not dropped: a bug.
KILL_LEFTOVER_S = 60.0


def checks(ids: list[int], var_dir: Path, kill_times: list[float] = ()) -> tuple[dict, list[str]]:
    """What the database and the storage say: terminal jobs, outputs, duplicates; and the failures."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from packshots.models import TERMINAL_STATES, EngineEvent, Job, Result

    jobs = list(Job.objects.filter(pk__in=ids))
    statuses = Counter(job.status for job in jobs)
    expected = {
        (job.pk, i, v)
        for job in jobs
        for i, instruction in enumerate(job.instructions)
        for v in range(instruction.get("num_variations", 1))
    }
    results = list(
        Result.objects.filter(job_id__in=ids).values(
            "id", "job_id", "instruction_index", "variation_index", "version", "status", "image"
        )
    )
    completed = Counter(
        (r["job_id"], r["instruction_index"], r["variation_index"], r["version"])
        for r in results
        if r["status"] == "completed"
    )
    slots_done = {(j, i, v) for (j, i, v, _) in completed}
    on_disk = {p.relative_to(var_dir / "media").as_posix() for p in (var_dir / "media").rglob("output_*")}
    referenced = {r["image"] for r in results if r["image"]}
    unreferenced = {name: (var_dir / "media" / name).stat().st_mtime for name in on_disk - referenced}
    left_by_kill = {
        name
        for name, mtime in unreferenced.items()
        if any(0 <= k - mtime <= KILL_LEFTOVER_S for k in kill_times)
    }
    renders = Counter()
    for row in DBTaskResult.objects.filter(task_path=RENDER).values("status", "args_kwargs"):
        renders[(row["status"], row["args_kwargs"]["kwargs"]["result_id"])] += 1
    successful = Counter({rid: n for (status, rid), n in renders.items() if status == "SUCCESSFUL"})
    events = Counter(EngineEvent.objects.filter(job_id__in=ids).values_list("source", flat=True))
    duplicate_events = (
        EngineEvent.objects.values("source", "event_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    start = min(job.queued_at for job in jobs)
    ends = sorted((job.finished_at - start).total_seconds() for job in jobs if job.finished_at)
    figures = {
        "jobs": len(jobs),
        "job statuses": dict(statuses),
        "job finished after (s): median / p90 / max": (
            f"{statistics.median(ends):.1f} / {ends[int(0.9 * (len(ends) - 1))]:.1f} / {ends[-1]:.1f}"
            if ends
            else "-"
        ),
        "jobs by submit attempts (PiktID)": dict(Counter(job.submit_attempts for job in jobs)),
        "outputs expected": len(expected),
        "outputs completed": len(slots_done),
        "outputs lost (expected slot without a completed result)": len(expected - slots_done),
        "slots with 2+ completed Result rows": sum(1 for n in completed.values() if n > 1),
        "results beyond version 0": sum(1 for r in results if r["version"] > 0),
        "output files in storage": len(on_disk),
        "output files written just before a kill (prune_orphaned_files)": len(left_by_kill),
        "output files nobody references (a twin's copy left behind)": len(unreferenced) - len(left_by_kill),
        "referenced output files missing": len(referenced - on_disk),
        "render task rows SUCCESSFUL": sum(successful.values()),
        "render task rows FAILED": sum(n for (status, _), n in renders.items() if status == "FAILED"),
        "results with 2+ SUCCESSFUL render rows": sum(1 for n in successful.values() if n > 1),
        "engine events by source": dict(events),
        "duplicate (source, event_id) events": duplicate_events,
    }
    failures = []
    if sum(statuses[s] for s in TERMINAL_STATES) != len(jobs):
        stuck = [(j.pk, j.status, j.waiting_reason or j.error_message) for j in jobs if not j.is_terminal]
        failures.append(f"jobs not terminal: {stuck}")
    for name in (
        "outputs lost (expected slot without a completed result)",
        "slots with 2+ completed Result rows",
        "output files nobody references (a twin's copy left behind)",
        "referenced output files missing",
        "duplicate (source, event_id) events",
    ):
        if figures[name]:
            failures.append(f"{name}: {figures[name]}")
    return figures, failures


def wrong_photos(ours: dict[int, str], fake) -> list[tuple[int, list[int]]]:
    """Our jobs whose PiktID job was created from other photos than theirs, and whose photos those were.

    A job that lost its create answer identifies its PiktID job by time and size only; the fake kept each
    request's file ids and each file's name, which our upload gives as photo_<upload id> (a photo pushed
    twice by twin tasks has two file ids, one upload). Counts alone cannot see a swap of two alike jobs: it
    leaves no orphan and no shared id. -1 = a file of none of our uploads.
    """
    from packshots.models import Upload

    job_of = dict(Upload.objects.filter(job_id__in=ours).values_list("pk", "job_id"))
    photos: dict[int, set[int]] = {}
    for upload_id, job_id in job_of.items():
        photos.setdefault(job_id, set()).add(upload_id)

    def upload_of(image) -> int:
        file_id = image["file_id"] if isinstance(image, dict) else image
        name = fake.files.get(file_id, {}).get("filename", "")
        found = re.fullmatch(r"photo_(\d+)\.\w+", name)
        return int(found[1]) if found else -1

    wrong = []
    for job_id, remote_job_id in sorted(ours.items()):
        request = fake.jobs.get(remote_job_id, {}).get("request") or {}
        sent = {upload_of(image) for image in request.get("images") or []}
        if sent != photos.get(job_id):
            wrong.append((job_id, sorted({job_of.get(upload_id, -1) for upload_id in sent})))
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["local", "piktid"], required=True)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--database", default="bench_f1")
    parser.add_argument("--dead-after", type=int, default=10, help="PACKSHOT_WORKER_DEAD_AFTER_S")
    parser.add_argument(
        "--kill-at",
        type=float,
        nargs="+",
        default=[12, 0.2],
        help="each kill's trigger: seconds after the start (>= 1) or a fraction of the outputs done (< 1)",
    )
    parser.add_argument("--restart-after", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=540)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    (logs := work / "logs").mkdir()
    for n in range(len(args.kill_at)):
        (logs / f"restart{n}").mkdir()
    settings = {"PACKSHOT_WORKER_DEAD_AFTER_S": args.dead_after}
    fake = hooks = web = None
    if args.part == "piktid":
        fake = faulty_fake(args.seed).start()
        fake.add_account(TOKEN, credits=1e6)
        settings |= {
            "PIKTID_BASE_URL": fake.base_url,
            "PIKTID_CREATE_LIMIT": 10,
            "PIKTID_CREATE_WINDOW_S": 5,
            "PIKTID_ACTIVE_LIMIT": 10,
            "PIKTID_ACTIVE_WAIT_S": 1,
            "PIKTID_RATE_LIMIT_WAIT_S": 1,
            "PIKTID_POLL_S": 5,
        }
    piktid_stack.configure(database=args.database, var_dir=work / "var", **settings)
    piktid_stack.fresh_database(args.database)
    print(f"bench.faults --part {args.part}: {args.jobs} jobs, logs in {logs}", flush=True)
    try:
        if fake is not None:
            web, base_url = piktid_stack.start_web(logs, workers=2)
            team, user, _ = piktid_stack.team_with_connection(token=TOKEN, webhook_base_url=base_url)
            hooks = Webhooks(args.seed)
            fake.deliver = hooks
        else:
            from accounts.models import Membership, Team, User

            team = Team.objects.create(name="Bench", slug="bench")
            user = User.objects.create_user("bench@example.com", "bench-password-123")
            Membership.objects.create(user=user, team=team, role="owner")
        ids = drafts(team, user, "piktid" if fake else "local", args.jobs)
        expected = sum(2 if n % 2 else 1 for n in range(args.jobs))
        if fake is not None:
            fake.faults = True
        outcome = run(args, logs, ids, expected)
        if hooks is not None:
            hooks.stop.set()
            hooks.flush()  # every held-back delivery arrives, late
    finally:
        if web is not None:
            piktid_stack.stop(web)
        if fake is not None:
            fake.stop()
    figures, failures = checks(ids, work / "var", [kill["wall"] for kill in outcome["kills"]])
    if fake is not None:
        from packshots.models import Job

        ours = dict(
            Job.objects.filter(pk__in=ids).exclude(remote_job_id="").values_list("pk", "remote_job_id")
        )
        remote = [j for j, job in fake.jobs.items() if job["account"].token == TOKEN]
        orphans = sorted(set(remote) - set(ours.values()))
        wrong = wrong_photos(ours, fake)
        figures |= {
            "faults injected at the fake": dict(fake.injected),
            "create-packshot requests": len(fake.creations(TOKEN)),
            "PiktID jobs at the fake": len(remote),
            "our jobs with a remote job id": len(ours),
            "remote job ids shared by 2+ of our jobs": sum(
                1 for n in Counter(ours.values()).values() if n > 1
            ),
            "duplicate remote jobs (at the fake, none of ours)": len(orphans),
            "our jobs holding a PiktID job made from other photos (adopted another's)": len(wrong),
            "webhooks": dict(hooks.counts),
            "fake server errors": len(fake.errors),
        }
        shared = {
            r: sorted(j for j, rr in ours.items() if rr == r)
            for r, n in Counter(ours.values()).items()
            if n > 1
        }
        if orphans or shared:
            failures.append(f"duplicate remote jobs: orphans {orphans}, held by 2+ of our jobs {shared}")
        if wrong:
            failures.append(f"jobs holding a PiktID job of other photos (ours, theirs): {wrong}")
        if len(ours) != len(ids):
            failures.append(f"jobs without a remote job: {sorted(set(ids) - set(ours))}")
    kills = outcome["kills"]
    print(f"\nmakespan (first start to all terminal): {outcome['makespan']:.1f} s")
    for n, kill in enumerate(kills, 1):
        tasks = [r["task_path"].rsplit(".", 1)[1] for r in kill["rows"]]
        print(
            f"kill {n}: at {kill['t']:.1f} s, {kill['done']} outputs done, running {tasks or 'nothing'}; "
            f"restarted after {kill.get('restarted', float('nan')):.1f} s; reaped after "
            f"{kill.get('reaped', float('nan')):.1f} s; "
            f"its work done after {kill.get('recovered', float('nan')):.1f} s"
        )
    for name, value in figures.items():
        print(f"{name}: {value}")
    if kills:
        print(f"median recovery: {statistics.median(k.get('recovered', float('nan')) for k in kills):.1f} s")
    if len(kills) < len(args.kill_at):
        print(f"note: only {len(kills)} of {len(args.kill_at)} kills happened (the jobs ended first)")
    print("\nchecks:", "all passed" if not failures else "FAILED")
    for failure in failures:
        print("  -", failure)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
