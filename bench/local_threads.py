"""PACKSHOT_LOCAL_THREADS: segmentation wall time with 1 or 2 onnxruntime threads, alone and beside a twin.

    .venv/bin/python -m bench.local_threads --images ../shared/garments --rounds 3 --repeat 2

Each worker is a child process that loads the networks (outside the timer), then prepares a 12 MP photo
(a ~400 px garment upscaled to 4000×3000, as bench/imaging.py does) --repeat times through
`LocalEngine.prepare` (decode + segmentation + the stored cutout PNG). Cases: one worker alone (a single
job on the machine) and two workers at once (compose.yaml runs 2 task workers), each with 1 and 2 threads;
the four cases take turns for --rounds rounds. Printed: median wall and CPU seconds per prepare, and the
median makespan of a round of the case (both workers done).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _child(photo: str, threads: int, repeat: int, start_at: float) -> dict:
    from packshots.engines.local.adapter import LocalEngine
    from packshots.imaging.segment import _session, available_networks

    from .render_memory import _photo_bytes

    data = _photo_bytes(Path(photo), "12MP")
    for name in available_networks():
        _session(name, threads)
    engine = LocalEngine(threads=threads)
    time.sleep(max(0.0, start_at - time.time()))  # twins start together
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        engine.prepare(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"walls": walls, "cpus": cpus, "end": time.time()}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        spec = json.loads(sys.argv[2])
        print(json.dumps(_child(spec["photo"], spec["threads"], spec["repeat"], spec["start_at"])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--photo", default="dress_14a73972.jpg")
    parser.add_argument("--repeat", type=int, default=2, help="prepares per worker per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    cases = [(workers, threads) for workers in (1, 2) for threads in (1, 2)]
    walls: dict[tuple[int, int], list[float]] = {case: [] for case in cases}
    cpus: dict[tuple[int, int], list[float]] = {case: [] for case in cases}
    makespans: dict[tuple[int, int], list[float]] = {case: [] for case in cases}
    for _ in range(args.rounds):  # the cases take turns, so a change in the machine's load hits them alike
        for workers, threads in cases:
            start_at = time.time() + 12  # time for the children to import and load the networks
            spec = {"photo": str(args.images / args.photo), "threads": threads, "repeat": args.repeat}
            children = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.local_threads",
                        "--child",
                        json.dumps({**spec, "start_at": start_at}),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            ]
            results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
            walls[workers, threads] += [w for r in results for w in r["walls"]]
            cpus[workers, threads] += [c for r in results for c in r["cpus"]]
            makespans[workers, threads].append(max(r["end"] for r in results) - start_at)
    print(
        "| workers | threads each | wall s per prepare (median) | CPU s per prepare | makespan s (median) |"
    )
    print("|---:|---:|---:|---:|---:|")
    for case in cases:
        print(
            f"| {case[0]} | {case[1]} | {statistics.median(walls[case]):.2f} | "
            f"{statistics.median(cpus[case]):.2f} | {statistics.median(makespans[case]):.1f} |"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
