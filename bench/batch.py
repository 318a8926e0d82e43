"""A batch of SKUs through the production stack: ZIP upload, photo check and rendering on the task worker.

    .venv/bin/python -m bench.batch [--skus 200] [--photos 3] [--side 320] [--check-only] [--workers 1]

A ZIP of `--skus` SKU folders of `--photos` photos each (copies of ../shared/garments, resized to `--side` px
so the run stays short) is uploaded to the Procfile's `web` command (gunicorn, ASGI) on a throwaway var dir
(SQLite), checked by `--workers` of the Procfile's `worker` processes, then started with one white cutout
(1K, 1:1) per SKU on the local engine and followed as the batch page does (HTMX fragment once a second).
Prints: time to the SKU list, time to the first output, total time, the web time held by every request
(upload, polls, start, batch ZIP), and peak RSS (VmHWM) of the web and worker processes.
"""

import argparse
import io
import json
import re
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
from PIL import Image

from tests import ops_stack

INSTRUCTIONS = [{"style": "white_cutout", "options": {"size": "1K", "ar": "1:1", "format": "jpg"}}]


def build_zip(path: Path, skus: int, photos: int, side: int) -> int:
    sources = sorted((ops_stack.ROOT.parent / "shared" / "garments").glob("*.jpg"))
    small = []
    for source in sources:
        image = Image.open(source)
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=85)
        small.append(buffer.getvalue())
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for s in range(skus):
            for p in range(photos):
                zf.writestr(f"catalogue/SKU-{s:04d}/photo{p}.jpg", small[(s * photos + p) % len(small)])
    return path.stat().st_size


def descendants(pid: int) -> list[int]:
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_rss_mb(pids: list[int]) -> float:
    """The largest VmHWM (peak resident set) among the processes, in MB."""
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--side", type=int, default=320, help="long side of the photos, px")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--check-only", action="store_true", help="stop once the photos are checked")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    archive = work / "catalogue.zip"
    zip_bytes = build_zip(archive, args.skus, args.photos, args.side)
    env = ops_stack.server_env(work / "var", LOG_LEVEL="ERROR", WEB_CONCURRENCY="1")
    ops_stack.manage(env, "migrate", "--noinput")
    ops_stack.manage(env, "collectstatic", "--noinput", "-v0")
    team = ops_stack.seed(env, n=0, users=1, jobs=0, results=0)
    web, base = ops_stack.start_web(env, work / "web.log")
    workers = [
        subprocess.Popen(
            ["sh", "-c", ops_stack.procfile()["worker"]],
            cwd=ops_stack.ROOT,
            env=env,
            stdout=(work / f"worker{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(args.workers)
    ]
    held: dict[str, float] = {"upload": 0.0, "polls": 0.0, "start": 0.0, "batch ZIP": 0.0}
    polls = 0
    figures: dict[str, float] = {}
    try:
        client = httpx.Client(base_url=base, cookies={"sessionid": team["session"]}, timeout=600)
        page = client.get("/batches/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        headers = {"Referer": base + "/batches/"}
        t0 = time.monotonic()
        with archive.open("rb") as f:
            answer = client.post(
                "/batches/new/zip/",
                data={"csrfmiddlewaretoken": token, "name": "Bench", "project": "Bench"},
                files={"archive": ("catalogue.zip", f, "application/zip")},
                headers=headers,
            )
        held["upload"] = time.monotonic() - t0
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        batch_url = answer.headers["location"]

        def poll() -> str:
            nonlocal polls
            started = time.monotonic()
            text = client.get(batch_url, headers={"HX-Request": "true"}).text
            held["polls"] += time.monotonic() - started
            polls += 1
            return text

        deadline = t0 + args.timeout
        while "Ready to start" not in (text := poll()):
            assert "Failed" not in text and time.monotonic() < deadline, text[:2000]
            time.sleep(1)
        figures["SKU list ready (unpacked and checked)"] = time.monotonic() - t0
        figures["SKUs"] = len(re.findall(r"<tr data-sku=", text))
        if not args.check_only:
            t1 = time.monotonic()
            answer = client.post(
                batch_url + "start/",
                data={
                    "csrfmiddlewaretoken": token,
                    "json_text": json.dumps(INSTRUCTIONS),
                    "engine": "local",
                    "naming_template": "{sku}/{sku}_{style}_{variation}.{ext}",
                },
                headers=headers,
            )
            held["start"] = time.monotonic() - t1
            assert answer.status_code == 302, answer.text[:2000]
            first = None
            while True:
                text = poll()
                done = re.search(r"(\d+)/(\d+) outputs", text)
                if done and int(done.group(1)) > 0 and first is None:
                    first = time.monotonic() - t1
                if 'id="batch-status">Finished' in text.replace("\n", ""):
                    break
                assert time.monotonic() < deadline, "timed out"
                time.sleep(1)
            figures["first output after Start"] = first
            figures["all outputs after Start"] = time.monotonic() - t1
            t2 = time.monotonic()
            with client.stream("GET", batch_url + "download.zip") as response:
                size = sum(len(chunk) for chunk in response.iter_bytes())
            held["batch ZIP"] = time.monotonic() - t2
            figures["batch ZIP MB"] = size / 2**20
        figures["total"] = time.monotonic() - t0
        web_rss = peak_rss_mb(descendants(web.pid))
        worker_rss = max(peak_rss_mb(descendants(w.pid)) for w in workers)
    finally:
        for process in [web, *workers]:
            ops_stack.stop(process)

    print(
        f"{args.skus} SKUs × {args.photos} photos ({args.side} px), ZIP {zip_bytes / 2**20:.1f} MB, "
        f"{args.workers} worker(s), web = Procfile (gunicorn ASGI, 1 worker), SQLite"
    )
    print("| figure | value |\n|---|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.1f}{'' if 'MB' in name or name == 'SKUs' else ' s'} |")
    for name, value in held.items():
        print(f"| web time held: {name} | {value:.2f} s |")
    print(f"| web time held: all {polls} polls + upload + start + ZIP | {sum(held.values()):.1f} s |")
    print(f"| peak RSS, web (largest gunicorn process) | {web_rss:.0f} MB |")
    print(f"| peak RSS, task worker | {worker_rss:.0f} MB |")


if __name__ == "__main__":
    main()
