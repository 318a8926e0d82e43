"""Scheduler benchmark: PiktID jobs through the production path against the fake's limits, vs PiktID's batch.

    .venv/bin/python -m bench.piktid_scheduler                 # 20 jobs, 5 creations per 6 s, 5 active
    .venv/bin/python -m bench.piktid_scheduler --interval 0.2 --active-wait 1 --skip-official

Our path: a fresh PostgreSQL database (`--database`, dropped and re-created), the Procfile's web process
serving the webhook, `--workers` of its worker processes (`--interval` set), a team connected to the fake
PiktID (webhook registered), jobs of 1 photo and 1 output started with `services.job_start` on the piktid
engine. The fake enforces `--limit` creations per rolling `--window` seconds and `--active` active jobs and
makes each output in `--output-delay` seconds; our limiter gets the same limits (PIKTID_CREATE_LIMIT /
PIKTID_CREATE_WINDOW_S / PIKTID_ACTIVE_LIMIT).

The limits' minimum makespan: (ceil(N / limit) - 1) windows plus one job's processing, or ceil(N / active) job
durations when the active cap binds, whichever is larger. Our makespan runs from the first job_start to the
last job finished in our database (its output copied into our storage).

For comparison, PiktID's official batch script (../shared/docs/piktid-api.md §5, client practices 6, 8, 9) is
simulated against the same fake under a second token: 3 worker threads each running the whole workflow per job
(POST /project with 409 reuse, upload, create with 5 retries on 429 after 1, 2, 4, 8, 16 s × (1 ± 0.2), 5 s
before the first status call, status every 5 s, results and downloads). Its delays are run twice: scaled by
window/60 (the real script against a real 60 s window, time-compressed like the window) and as written.
"""

import argparse
import io
import math
import queue
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image

from bench import piktid_stack
from tests.piktid.fake_server import FakePiktid

TOKEN = "bench-scheduler-token"
OFFICIAL_TOKEN = "bench-official-token"
INSTRUCTION = {"style": "white_cutout", "options": {"size": "1K", "ar": "1:1", "format": "jpg"}}
TERMINAL = ("completed", "failed", "aborted")


def photo_bytes(seed: int) -> bytes:
    image = Image.new("RGB", (240, 320), (225, 222, 215))
    image.paste(Image.new("RGB", (120, 160), (40 + seed * 9 % 200, 60, 90)), (60, 80))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# ---------------------------------------------------------------- what the fake saw


def fake_figures(fake: FakePiktid, token: str, window: float) -> dict:
    """429 answers, accepted creations per rolling window, and active jobs at the fake for one account."""
    with fake.lock:
        creations = [r for r in fake.requests_to("POST", "/create-packshot") if r.token == token]
        jobs = [j for j in fake.jobs.values() if j["account"].token == token]
        spans = [(j["created"], j["updated"] if j["status"] in TERMINAL else math.inf) for j in jobs]
    accepted = sorted(start for start, _ in spans)
    per_window = max((sum(1 for t in accepted if s <= t < s + window) for s in accepted), default=0)
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # an end sorts before a start
    active = peak = 0
    for _, step in edges:
        active += step
        peak = max(peak, active)
    return {
        "requests": len(creations),
        "429": sum(1 for r in creations if r.status == 429),
        "jobs_at_fake": len(jobs),
        "reconcile_lookups": sum(1 for r in fake.requests_to("GET", "/gallery/by-job") if r.token == token),
        "accepted": accepted,
        "max_per_window": per_window,
        "max_active": peak,
        "last_done": max((e for _, e in spans), default=math.nan),
    }


def minimum_makespan(jobs: int, limit: int, window: float, active: int, duration: float) -> float:
    return max((math.ceil(jobs / limit) - 1) * window + duration, math.ceil(jobs / active) * duration)


def window_lateness(accepted: list[float], limit: int, window: float) -> list[float]:
    """For each creation past the first `limit`: seconds between its slot freeing and its creation."""
    return [accepted[i] - (accepted[i - limit] + window) for i in range(limit, len(accepted))]


# ---------------------------------------------------------------- our path


def run_ours(args: argparse.Namespace, fake: FakePiktid, logs: Path) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from packshots import services
    from packshots.models import Job

    web, base_url = piktid_stack.start_web(logs, workers=2)
    workers = []
    try:
        team, user, _ = piktid_stack.team_with_connection(token=TOKEN, webhook_base_url=base_url)
        project = services.project_create(team=team, created_by=user, name="Scheduler bench")
        drafts = []
        for n in range(args.jobs):
            job = services.job_draft_create(project=project, author=user, engine="piktid")
            photo = SimpleUploadedFile(f"photo{n}.jpg", photo_bytes(n), content_type="image/jpeg")
            services.upload_add(job=job, uploaded_by=user, file=photo)
            services.job_set_instructions(job=job, instructions=[INSTRUCTION])
            options = {"model": "auto"}
            job = services.job_set_options(job=job, engine="piktid", options=options, post_process=False)
            drafts.append(job)
        workers = piktid_stack.start_workers(args.workers, logs, interval=args.interval)
        piktid_stack.wait_for_workers(workers, logs)

        for job in drafts:
            services.job_start(job=job)
        ids = [job.pk for job in drafts]
        deadline = time.monotonic() + max(120.0, 10 * args.minimum)
        while Job.objects.filter(pk__in=ids, finished_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs still unfinished at the deadline: see the worker logs in {logs}")
            time.sleep(0.05)
        rows = list(Job.objects.filter(pk__in=ids).values("status", "queued_at", "finished_at"))
        tasks = dict(
            DBTaskResult.objects.values_list("task_path")
            .annotate(n=Count("id"))
            .values_list("task_path", "n")
        )
    finally:
        piktid_stack.stop(*workers, web)
    first_queued = min(r["queued_at"] for r in rows).timestamp()
    last_finished = max(r["finished_at"] for r in rows).timestamp()
    figures = fake_figures(fake, TOKEN, args.window)
    return {
        **figures,
        "makespan": last_finished - first_queued,
        "first_queued": first_queued,
        "completed": sum(1 for r in rows if r["status"] == "completed"),
        "failed": sum(1 for r in rows if r["status"] != "completed"),
        "to_first_creation": figures["accepted"][0] - first_queued if figures["accepted"] else math.nan,
        "fake_to_ours": last_finished - figures["last_done"],
        "submit_runs": tasks.get("packshots.tasks.piktid_submit_task", 0),
        "all_tasks": sum(tasks.values()),
    }


# ---------------------------------------------------------------- PiktID's batch script, simulated


def run_official(args: argparse.Namespace, fake: FakePiktid, scale: float) -> dict:
    """3 threads, each taking the next job and running the official client's workflow for it."""
    token = f"{OFFICIAL_TOKEN}-{scale:g}"
    fake.add_account(token, credits=1e6)
    headers = {"Authorization": f"Bearer {token}"}
    todo: queue.Queue[int] = queue.Queue()
    for n in range(args.jobs):
        todo.put(n)
    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    retries = [1, 2, 4, 8, 16]

    def call(client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
        """The official client's request helper: 5 retries on 429 with jittered exponential delays."""
        for attempt in range(len(retries) + 1):
            response = client.request(method, fake.base_url + path, headers=headers, **kwargs)
            if response.status_code != 429 or attempt == len(retries):
                return response
            time.sleep(min(60.0, retries[attempt] * random.uniform(0.8, 1.2)) * scale)
        raise AssertionError("unreachable")

    def one_job(client: httpx.Client, n: int) -> str:
        project = call(client, "POST", "/project", json={"project_name": "batch"})
        project_id = project.json()["project_id"]
        slot = call(client, "POST", "/upload", json={"filename": f"photo{n}.jpg"}).json()
        data = photo_bytes(n)
        put = client.put(
            slot["upload_url"], content=data, headers={"Content-Type": slot.get("content_type", "image/jpeg")}
        )
        if put.status_code not in (200, 201):
            return f"upload {put.status_code}"
        body = {
            "project_id": project_id,
            "images": [slot["file_id"]],
            "instructions": [INSTRUCTION],
            "options": {"model": "auto"},
        }
        created = call(client, "POST", "/create-packshot", json=body)
        if created.status_code != 202:
            return f"create {created.status_code}"
        job_id = created.json()["job_id"]
        time.sleep(5 * scale)  # the client waits before its first status call
        while True:
            status = call(client, "GET", f"/jobs/{job_id}/status")
            if status.status_code == 200 and status.json()["status"] in TERMINAL:
                break
            time.sleep(5 * scale)
        results = call(client, "GET", f"/jobs/{job_id}/results").json()
        for item in results["results"]:
            client.get(item["output"]["full_size"])
        return status.json()["status"]

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                try:
                    n = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = one_job(client, n)
                with lock:
                    outcomes.append((outcome, time.time()))

    started = time.time()
    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = fake_figures(fake, token, args.window)
    return {
        **figures,
        "makespan": max(t for _, t in outcomes) - started,
        "completed": sum(1 for o, _ in outcomes if o == "completed"),
        "failed": sum(1 for o, _ in outcomes if o != "completed"),
        "why": sorted({o for o, _ in outcomes if o != "completed"}),
    }


# ---------------------------------------------------------------- report


def report(name: str, run: dict, args: argparse.Namespace) -> None:
    late = window_lateness(run["accepted"], args.limit, args.window)
    print(f"\n{name}")
    print(f"  jobs completed / failed          {run['completed']} / {run['failed']} {run.get('why') or ''}")
    print(f"  create requests / 429 answers    {run['requests']} / {run['429']}")
    lookups = run["reconcile_lookups"]
    print(f"  jobs created at the fake         {run['jobs_at_fake']} (gallery look-ups: {lookups})")
    print(f"  max creations in any {args.window:g} s window  {run['max_per_window']} (limit {args.limit})")
    print(f"  max active jobs at the fake      {run['max_active']} (limit {args.active})")
    print(
        f"  makespan                         {run['makespan']:.2f} s = "
        f"{run['makespan'] / args.minimum:.3f} × the minimum {args.minimum:.2f} s"
    )
    if late:
        print(
            f"  creation after its slot freed    median {statistics.median(late):.2f} s, "
            f"max {max(late):.2f} s, min {min(late):.3f} s ({len(late)} creations)"
        )
    if args.timeline:
        start = run.get("first_queued", run["accepted"][0] if run["accepted"] else 0.0)
        print(
            "  creations at (s after the first job_start):",
            " ".join(f"{t - start:.2f}" for t in run["accepted"]),
        )
    if "to_first_creation" in run:
        print(f"  first job_start → 1st creation   {run['to_first_creation']:.2f} s")
        print(f"  last done at fake → in our db    {run['fake_to_ours']:.2f} s (webhook, sync task, copy)")
        print(f"  task runs: submit / all          {run['submit_runs']} / {run['all_tasks']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=5, help="creations per window (fake and ours)")
    parser.add_argument("--window", type=int, default=6, help="window seconds (fake and ours)")
    parser.add_argument("--active", type=int, default=5, help="active jobs (fake and ours)")
    parser.add_argument("--output-delay", type=float, default=0.5, help="fake seconds per output")
    parser.add_argument("--workers", type=int, default=2, help="the Procfile's worker processes")
    parser.add_argument("--interval", type=float, default=1.0, help="the workers' idle poll (Procfile: 1)")
    parser.add_argument("--active-wait", type=int, help="PIKTID_ACTIVE_WAIT_S (default: the settings')")
    parser.add_argument("--database", default="bench_piktid", help="dropped and re-created")
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--timeline", action="store_true", help="print every accepted creation's time")
    args = parser.parse_args()
    args.minimum = minimum_makespan(args.jobs, args.limit, args.window, args.active, args.output_delay)

    fake = FakePiktid(
        create_limit=args.limit,
        create_window=args.window,
        active_limit=args.active,
        output_delay=args.output_delay,
    ).start()
    fake.add_account(TOKEN, credits=1e6)
    settings = {
        "PIKTID_TOKEN": TOKEN,
        "PIKTID_BASE_URL": fake.base_url,
        "PIKTID_CREATE_LIMIT": args.limit,
        "PIKTID_CREATE_WINDOW_S": args.window,
        "PIKTID_ACTIVE_LIMIT": args.active,
    }
    if args.active_wait is not None:
        settings["PIKTID_ACTIVE_WAIT_S"] = args.active_wait
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as workdir:
            work = Path(workdir)
            piktid_stack.configure(database=args.database, var_dir=work / "var", **settings)
            piktid_stack.fresh_database(args.database)
            from django.conf import settings as django_settings

            print(
                f"{args.jobs} jobs × 1 output; limits {args.limit} creations / {args.window} s, "
                f"{args.active} active; fake output delay {args.output_delay} s; {args.workers} workers "
                f"--interval {args.interval:g}; PIKTID_ACTIVE_WAIT_S={django_settings.PIKTID_ACTIVE_WAIT_S}; "
                f"PostgreSQL {args.database}"
            )
            print(f"limits' minimum makespan: {args.minimum:.2f} s")
            ours = run_ours(args, fake, work)
            report("ours (limiter + workers + webhook)", ours, args)
        if not args.skip_official:
            for scale in sorted({args.window / 60, 1.0}):
                official = run_official(args, fake, scale)
                report(f"PiktID batch script, 3 threads, delays × {scale:g}", official, args)
        if fake.errors:
            print("\nfake server errors:", *fake.errors, sep="\n  ")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
