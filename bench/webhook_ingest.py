"""Webhook ingest benchmark: signed PiktID deliveries to /webhooks/piktid/<key>/, Procfile web, PostgreSQL.

    .venv/bin/python -m bench.webhook_ingest                         # 3000 deliveries, 16 connections
    .venv/bin/python -m bench.webhook_ingest --rate 300 --connections 64   # 300/s offered (open loop)

The Procfile's web process runs as it is written there (`--web-workers` as WEB_CONCURRENCY) against a fresh
PostgreSQL database (`--database`, dropped and re-created). A team is connected to the fake PiktID (token
checked, webhook registered: the key and the secret are the real ones). `--jobs` running PiktID jobs of that
team receive the events, round robin, so each delivery does what production does: verify the signature,
record the EngineEvent once, note the news on its job (one sync per job per burst), note the delivery on the
connection, and insert the sync and notification-consume task rows (one each per burst per job) in the same
transaction (no worker runs: the rows stay queued). The Procfile's web process sends webhooks down its lean
path (config/server.py).

The client (this process) sends `--deliveries` batch_edit / image_result events with distinct ids over
`--connections` keep-alive connections (a minimal asyncio HTTP/1.1 client, requests prepared beforehand),
each sending its next request once the last is answered, or with `--rate` at a fixed offered rate (latency
counted from when each delivery was due), plus `--duplicates` of them sent a second time, as PiktID's
retries would. A warm-up of `--warmup`
deliveries is sent first and not timed. Printed: throughput, latency percentiles (client side, request sent →
answer read), answers by status, the task rows inserted, and checks: every answer 204 (no 5xx), every event
id recorded exactly once.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench import piktid_stack
from tests.piktid.fake_server import FakePiktid

TOKEN = "bench-webhook-token"
FIRST_ID = 1_000_000  # far above the fake's own notification ids (the registration ping)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def make_events(count: int, first_id: int, remote_ids: list[str]) -> list[dict]:
    events = []
    for n in range(count):
        remote = remote_ids[n % len(remote_ids)]
        if n % 2:
            data = {"id_task": remote, "job_id": remote, "group_index": 0, "image_index": n % 4, "version": 0}
            data |= {"status": "completed", "output": {"full_size": f"https://cdn.example/{remote}/{n}.jpg"}}
            name = "image_result"
        else:
            data = {"id_task": remote, "job_id": remote, "status": "processing", "total_images": 4}
            data |= {"processed_images": n % 4}
            name = "batch_edit"
        events.append({"id": first_id + n, "name": name, "data": data, "timestamp": time.time()})
    return events


def send_all(
    url: str, secret: str, events: list[dict], connections: int, rate: float | None = None
) -> tuple[list, float]:
    """POST every event signed over `connections` keep-alive connections: [(event id, status, seconds)], wall.

    A minimal asyncio HTTP/1.1 client over raw sockets, requests built before the clock starts: PiktID's
    sender is not on our machine, so the load generator should take as little of its 2 cores as it can
    (httpx with a thread per connection took ~3 ms of CPU per request, more than half the budget).
    """
    from packshots.engines.piktid.webhooks import sign

    target = httpx.URL(url)
    requests = []
    for event in events:
        body = json.dumps(event).encode()
        head = (
            f"POST {target.raw_path.decode()} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            f"Content-Type: application/json\r\nX-Webhook-Signature: {sign(secret, body)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append((event["id"], head.encode() + body))
    return asyncio.run(_send_all(target.host, target.port, requests, connections, rate))


async def _send_all(
    host: str, port: int, requests: list, connections: int, rate: float | None
) -> tuple[list, float]:
    """Closed loop (each connection sends its next request when the answer came) or, with `rate`, open loop:
    request i is due at i / rate seconds and its latency counts from then, so a server falling behind shows
    as latency (no coordinated omission) as long as enough connections are free."""
    pending = iter(enumerate(requests))
    outcomes = []
    began = time.perf_counter()

    async def connection() -> None:
        reader = writer = None
        for n, (event_id, request) in pending:
            started = time.perf_counter()
            if rate:
                started = began + n / rate
                await asyncio.sleep(max(0.0, started - time.perf_counter()))
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status, writer = 0, None  # no answer; a new connection for the next one
            outcomes.append((event_id, status, time.perf_counter() - started))
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return outcomes, time.perf_counter() - began


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (status line, headers, Content-Length body); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            raise ValueError("chunked answers are not expected from the webhook")
    if length:
        await reader.readexactly(length)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rate", type=float, help="open loop: offer this many deliveries/s (use more --connections, e.g. 64)"
    )
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of events delivered twice")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=20, help="running PiktID jobs the events name")
    parser.add_argument("--web-workers", type=int, default=2, help="WEB_CONCURRENCY of the web process")
    parser.add_argument("--database", default="bench_piktid", help="dropped and re-created")
    args = parser.parse_args()

    fake = FakePiktid(output_delay=None).start()
    fake.add_account(TOKEN)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webhook-") as workdir:
            work = Path(workdir)
            piktid_stack.configure(
                database=args.database, var_dir=work / "var", PIKTID_BASE_URL=fake.base_url
            )
            piktid_stack.fresh_database(args.database)
            web, base_url = piktid_stack.start_web(work, workers=args.web_workers)
            try:
                run(args, fake, base_url, web.pid)
            finally:
                piktid_stack.stop(web)
    finally:
        fake.stop()


def run(args: argparse.Namespace, fake: FakePiktid, base_url: str, web_pid: int) -> None:
    from django_tasks_db.models import DBTaskResult

    from packshots import services
    from packshots.models import EngineEvent, Job

    team, user, connection = piktid_stack.team_with_connection(token=TOKEN, webhook_base_url=base_url)
    fake.wait_for(lambda: fake.deliveries, timeout=10)  # the registration ping reached us
    project = services.project_create(team=team, created_by=user, name="Webhook bench")
    remote_ids = [f"job_bench{n:04d}" for n in range(args.jobs)]
    for remote in remote_ids:
        Job.objects.create(
            team=team,
            project=project,
            author=user,
            engine=Job.Engine.PIKTID,
            status=Job.Status.RUNNING,
            account_key=connection.account_key,
            remote_job_id=remote,
            total_outputs=4,
        )
    url = f"{base_url}/webhooks/piktid/{connection.webhook_key}/"
    secret = connection.webhook_secret

    warmup = make_events(args.warmup, FIRST_ID, remote_ids)
    send_all(url, secret, warmup, args.connections)
    events = make_events(args.deliveries, FIRST_ID + args.warmup, remote_ids)
    repeats = random.Random(11).sample(events, int(len(events) * args.duplicates))
    # Repeats arrive mixed with first deliveries, some of them while the first is still being handled.
    mixed = events + repeats
    random.Random(12).shuffle(mixed)
    web_cpu, own_cpu, load = piktid_stack.cpu_seconds(web_pid), time.process_time(), os.getloadavg()[0]
    outcomes, wall = send_all(url, secret, mixed, args.connections, args.rate)
    web_cpu = piktid_stack.cpu_seconds(web_pid) - web_cpu
    own_cpu = time.process_time() - own_cpu

    latencies = [seconds * 1000 for _, _, seconds in outcomes]
    statuses = Counter(status for _, status, _ in outcomes)
    sent_ids = {str(e["id"]) for e in warmup + events}
    source = f"piktid:{connection.account_key[:12]}"
    recorded = Counter(
        EngineEvent.objects.filter(source=source, event_id__in=sent_ids).values_list("event_id", flat=True)
    )
    sync_tasks = DBTaskResult.objects.filter(task_path="packshots.tasks.piktid_sync_task").count()
    consume_tasks = DBTaskResult.objects.filter(
        task_path="packshots.tasks.piktid_notifications_consume_task"
    ).count()

    print(
        f"{len(mixed)} deliveries ({len(events)} events + {len(repeats)} repeats) over {args.connections} "
        f"connections to `{piktid_stack.procfile('web')}` (WEB_CONCURRENCY={args.web_workers}) on PostgreSQL "
        f"{args.database}; {args.jobs} running jobs; warm-up {len(warmup)}; "
        + (f"open loop at {args.rate:.0f}/s offered" if args.rate else "closed loop (as fast as answered)")
    )
    print(f"throughput        {len(mixed) / wall:7.0f} deliveries/s ({wall:.2f} s)")
    print(
        f"latency ms        p50 {statistics.median(latencies):.1f}  p95 {percentile(latencies, 95):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}"
    )
    per = 1000 / len(mixed)
    print(
        f"CPU per delivery  web {web_cpu * per:.1f} ms, client {own_cpu * per:.1f} ms "
        f"(load average before the run {load:.1f} on {os.cpu_count()} cores)"
    )
    print(f"answers           {dict(sorted(statuses.items()))}")
    print(
        f"recorded          {len(recorded)} of {len(sent_ids)} event ids, "
        f"{sum(1 for n in recorded.values() if n > 1)} more than once"
    )
    print(
        f"task rows         {sync_tasks} sync, {consume_tasks} notification consume "
        f"({len(sent_ids)} fresh events)"
    )
    problems = []
    if any(status >= 500 or status == 0 for status in statuses):
        problems.append("5xx or no answer")
    if set(statuses) - {204}:
        problems.append("answers other than 204")
    if set(recorded) != sent_ids or any(n != 1 for n in recorded.values()):
        problems.append("events not recorded exactly once")
    print("checks            " + ("all passed" if not problems else "FAILED: " + "; ".join(problems)))


if __name__ == "__main__":
    main()
