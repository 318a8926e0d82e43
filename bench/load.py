"""Load: 50 users browsing job lists, job pages and galleries while 2 task workers render local jobs.

    .venv/bin/python -m bench.load [--database packshot_bench_load] [--users 50] [--seconds 60]

Everything as in production, on 127.0.0.1 only: a fresh PostgreSQL database (dropped and re-created), the
Procfile's `web` command (gunicorn, ASGI worker) and two of its `worker` processes. 5 teams of 10 users each
have 10 finished jobs of 4 outputs; meanwhile `--render-jobs` local jobs (4 outputs at 2K from a garment
photo each) are started for the workers. Each user is a thread with its own session: pick a page, wait for
it, think 0.5–1.5 s, repeat until `--seconds` have passed (at most 2,000 requests a user). Prints p50/p95/max
page time per kind and the error rate (any status >= 400 or transport error), and how many outputs the
workers rendered meanwhile.
"""

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from tests import ops_stack

PG = ["-h", "127.0.0.1", "-U", "postgres"]
PROCFILE = ops_stack.procfile()
TEAMS, USERS_PER_TEAM = 5, 10
THINK_S = (0.5, 1.5)
MAX_REQUESTS_PER_USER = 2000

RENDER = """
from django.core.files.uploadedfile import SimpleUploadedFile
from packshots import services
from packshots.models import Job
from tests import factories
from accounts.models import Team

team = Team.objects.get(slug="ops-0")
user = team.memberships.first().user
photo = open({photo!r}, "rb").read()
ids = []
for i in range({count}):
    job = services.job_draft_create(project=factories.make_project(team=team, user=user), author=user)
    upload = SimpleUploadedFile("garment.jpg", photo, "image/jpeg")
    services.upload_add(job=job, uploaded_by=user, file=upload)
    instruction = {{"style": "white_cutout", "options": {{"size": "2K", "ar": "1:1", "format": "jpg"}},
                   "num_variations": 4}}
    services.job_set_instructions(job=job, instructions=[instruction])
    services.job_start(job=job)
    ids.append(job.pk)
print(json.dumps(ids))
"""

COUNT_RENDERED = """
from packshots.models import Result
print(json.dumps(Result.objects.filter(job_id__in={ids}, status="completed").count()))
"""


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class User(threading.Thread):
    def __init__(self, base: str, session: str, team: dict, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.base, self.session, self.team, self.deadline = base, session, team, deadline
        self.random = random.Random(seed)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def page(self) -> tuple[str, str, dict]:
        job = self.random.choice(self.team["jobs"])
        result = self.random.choice(self.team["results"])
        return self.random.choices(
            [
                ("job list", "/jobs/", {}),
                ("job page", f"/jobs/{job}/", {}),
                ("gallery poll (HTMX)", f"/jobs/{job}/?since=0", {"HX-Request": "true"}),
                ("thumbnail", f"/results/{result}/thumbnail/", {}),
                ("project list", "/projects/", {}),
            ],
            weights=[25, 30, 20, 20, 5],
        )[0]

    def run(self) -> None:
        with httpx.Client(base_url=self.base, cookies={"sessionid": self.session}, timeout=30) as http:
            for _ in range(MAX_REQUESTS_PER_USER):
                if time.monotonic() >= self.deadline:
                    return
                kind, path, headers = self.page()
                started = time.monotonic()
                try:
                    status = http.get(path, headers=headers).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.times[kind].append(time.monotonic() - started)
                if status != 200:  # every page here exists for this user: a redirect is an error too
                    self.errors.append(f"{kind} {path}: {status}")
                time.sleep(self.random.uniform(*THINK_S))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="packshot_bench_load", help="dropped and re-created")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--render-jobs", type=int, default=12, help="local jobs of 4 × 2K outputs to render")
    parser.add_argument("--photo", default=str(ops_stack.ROOT.parent / "shared/garments/dress_04f0b07f.jpg"))
    parser.add_argument("--web-command", help="instead of the Procfile's (to compare servers)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = ops_stack.server_env(
        work / "var", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}", LOG_LEVEL="ERROR"
    )
    subprocess.run(["dropdb", *PG, "--if-exists", "--force", args.database], check=True)
    subprocess.run(["createdb", *PG, args.database], check=True)
    ops_stack.manage(env, "migrate", "--noinput")
    ops_stack.manage(env, "collectstatic", "--noinput", "-v0")
    teams = [
        ops_stack.seed(env, n=i, users=USERS_PER_TEAM, jobs=10, results=4, result_bytes=300_000)
        for i in range(TEAMS)
    ]
    sessions = [(s, team) for team in teams for s in team["sessions"]][: args.users]

    if args.web_command:
        ops_stack.procfile = lambda: {**PROCFILE, "web": args.web_command}
    web, base = ops_stack.start_web(env, work / "web.log")
    workers = [
        subprocess.Popen(
            ["sh", "-c", PROCFILE["worker"]],
            cwd=ops_stack.ROOT,
            env=env,
            stdout=(work / f"worker{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        code = "import json\n" + RENDER.format(photo=args.photo, count=args.render_jobs)
        render_ids = ops_stack.python(env, code).strip().splitlines()[-1]
        load_before = f"{os.getloadavg()[0]:.1f}"
        deadline = time.monotonic() + args.seconds
        users = [User(base, s, team, deadline, seed) for seed, (s, team) in enumerate(sessions)]
        started = time.monotonic()
        for user in users:
            user.start()
        for user in users:
            user.join(args.seconds + 60)
        elapsed = time.monotonic() - started
        rendered = ops_stack.python(env, "import json\n" + COUNT_RENDERED.format(ids=render_ids))
    finally:
        for process in [web, *workers]:
            ops_stack.stop(process)

    times: dict[str, list[float]] = defaultdict(list)
    errors = [e for u in users for e in u.errors]
    for user in users:
        for kind, values in user.times.items():
            times[kind].extend(values)
    everything = [t for values in times.values() for t in values]
    web_command = args.web_command or PROCFILE["web"]
    print(f"{len(users)} users for {elapsed:.0f} s against {base} (PostgreSQL {args.database}), 2 workers")
    print(f"web: {web_command}")
    print(f"load average before / after: {load_before} / {os.getloadavg()[0]:.1f} (2 cores)")
    print(
        f"requests {len(everything)} ({len(everything) / elapsed:.1f}/s), errors {len(errors)} "
        f"({100 * len(errors) / max(len(everything), 1):.2f} %)"
    )
    print("| page | requests | p50 | p95 | max |\n|---|---:|---:|---:|---:|")
    for kind, values in [*sorted(times.items()), ("all pages", everything)]:
        print(
            f"| {kind} | {len(values)} | {1000 * statistics.median(values):.0f} ms | "
            f"{1000 * percentile(values, 95):.0f} ms | {1000 * max(values):.0f} ms |"
        )
    total_outputs = 4 * args.render_jobs
    print(f"outputs rendered by the 2 workers meanwhile: {rendered.strip()} of {total_outputs}")
    for error in errors[:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
