"""Job page benchmark: the review gallery with 80 outputs and its poll fragment, through the whole stack.

    .venv/bin/python -m bench.job_page [--requests 200] [--database-url postgres://…/g1db]

Builds a finished job of 10 instructions × 8 variations (80 latest outputs, 20 of them with an earlier
version, some flagged, some reviewed) in a throwaway database (SQLite by default; with --database-url the
named PostgreSQL database is used and its test copy dropped afterwards), then times `GET /jobs/<id>/` (the
whole page) and the HTMX poll with nothing new (`?since=<newest>`) through the test client, middleware
included. Queries are counted at 10, 40 and 80 outputs: the count must not grow with outputs.
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

LIMITS = {"queries": 20, "page_p95_ms": 60.0, "poll_p95_ms": 15.0}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build_job(team, user, outputs: int):
    """A finished local job with `outputs` latest results (8 per instruction) and earlier versions."""
    from django.utils import timezone

    from packshots.models import Job, Project, Result

    per = 8
    instructions = [
        {
            "style": "white_cutout",
            "num_variations": per,
            "preset_name": f"Preset {i}",
            "options": {"size": "1K"},
        }
        for i in range(outputs // per)
    ]
    project = Project.objects.create(team=team, name=f"Bench {outputs}", created_by=user)
    job = Job.objects.create(
        team=team,
        project=project,
        author=user,
        status=Job.Status.NEEDS_REVIEW,
        request={"instructions": instructions, "options": {}},
        total_outputs=outputs,
        progress=100,
        finished_at=timezone.now(),
    )
    rows = []
    for i in range(len(instructions)):
        for v in range(per):
            common = dict(job=job, instruction_index=i, variation_index=v, status="completed", format="jpg")
            files = dict(
                image=f"teams/{team.pk}/derived/{i}_{v}.jpg",
                thumbnail=f"teams/{team.pk}/derived/t{i}_{v}.jpg",
            )
            if v < 2:  # a quarter of the slots were regenerated once
                rows.append(Result(**common, **files, version=0, width=1024, height=1024, bytes=200_000))
            rows.append(
                Result(
                    **common,
                    **files,
                    version=1 if v < 2 else 0,
                    width=1024,
                    height=1024,
                    bytes=210_000,
                    model_used="local",
                    confidence=0.8,
                    warnings=["garment touches the photo's edge"] if v == 3 else [],
                    review="approved" if v == 4 else "rejected" if v == 5 else "",
                    review_reason="fine" if v == 4 else "",
                    reviewed_by=user if v in (4, 5) else None,
                    reviewed_at=timezone.now() if v in (4, 5) else None,
                )
            )
    Result.objects.bulk_create(rows)
    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="packshot-bench-page-"))
    os.environ["PACKSHOT_VAR_DIR"] = str(workdir / "var")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    # No collectstatic for a benchmark: plain static URLs (the manifest lookup it skips is one dict get).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import Membership, Team, User
    from packshots.selectors import gallery_since, latest_results

    # No setup_test_environment(): its template instrumentation (and the client's copies of every context)
    # would be measured too. The host is one the real settings allow.
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        team = Team.objects.create(name="Bench", slug="bench")
        user = User.objects.create_user("bench@example.com", "pw-bench-123")
        Membership.objects.create(user=user, team=team, role="member")
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        hx = {"HX-Request": "true"}

        queries = {}
        for outputs in (16, 40, 80):
            job = build_job(team, user, outputs)
            url = reverse("packshots:job-detail", args=[job.pk])
            client.get(url)  # warm caches (templates, URL resolver, session)
            with CaptureQueriesContext(connection) as page_q:
                assert client.get(url).status_code == 200
            since = gallery_since(latest_results(job))
            with CaptureQueriesContext(connection) as poll_q:
                poll = client.get(f"{url}?since={since}", headers=hx)
            assert poll.status_code == 200 and "hx-swap-oob" not in poll.text.split("</div>", 1)[1]
            queries[outputs] = (len(page_q), len(poll_q))

        def timed(path: str, headers=None) -> tuple[list[float], list[float]]:
            """Wall-clock and CPU milliseconds per request (CPU: this thread, which runs SQLite too)."""
            wall, cpu = [], []
            for _ in range(args.requests):
                started, started_cpu = time.perf_counter(), time.thread_time()
                response = client.get(path, headers=headers or {})
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
                assert response.status_code == 200
            return wall, cpu

        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            target = f"{url}?since={since}" if os.environ["BENCH_PROFILE"] == "poll" else url
            with cProfile.Profile() as profiler:
                for _ in range(20):
                    client.get(target, headers=hx if "since" in target else {})
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(45)
        page, page_cpu = timed(url)
        poll, poll_cpu = timed(f"{url}?since={since}", hx)
        page_bytes = len(client.get(url).content)
        poll_bytes = len(client.get(f"{url}?since={since}", headers=hx).content)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"database: {connection.vendor}; {args.requests} requests each; test client, all middleware")
    for outputs, (page_n, poll_n) in queries.items():
        print(f"queries with {outputs:>2} outputs: page {page_n:>2}, poll {poll_n:>2}")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall-clock times suffer from it, CPU times less)"
    )
    for name, size, wall, cpu in (
        ("job page, 80 outputs", page_bytes, page, page_cpu),
        ("poll, nothing new", poll_bytes, poll, poll_cpu),
    ):
        print(
            f"{name:<22} {size / 1024:6.1f} KB"
            f"  wall p50 {percentile(wall, 0.5):6.1f} p95 {percentile(wall, 0.95):6.1f} ms"
            f"  CPU min {min(cpu):5.1f} p50 {percentile(cpu, 0.5):6.1f} p95 {percentile(cpu, 0.95):6.1f} ms"
        )
    page_counts = {n for n, _ in queries.values()}
    ok = (
        len(page_counts) == 1
        and len({p for _, p in queries.values()}) == 1
        and max(page_counts) <= LIMITS["queries"]
        and percentile(page, 0.95) <= LIMITS["page_p95_ms"]
        and percentile(poll, 0.95) <= LIMITS["poll_p95_ms"]
    )
    print(
        "OK" if ok else "OVER LIMIT",
        f"(limits: ≤ {LIMITS['queries']} queries, constant; page p95 ≤ {LIMITS['page_p95_ms']:.0f} ms; "
        f"poll p95 ≤ {LIMITS['poll_p95_ms']:.0f} ms); median {statistics.median(page):.1f} ms",
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
