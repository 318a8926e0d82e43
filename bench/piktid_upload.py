"""Upload push benchmark: a 25 MB photo through the fake PiktID's pre-signed PUT, client RSS growth.

    .venv/bin/python -m bench.piktid_upload                 # a synthetic 25 MB JPEG file
    .venv/bin/python -m bench.piktid_upload --photo BIG.jpg --repeat 5

The fake server runs in a child process so only the client's memory is measured. Growth = peak RSS during
`PiktidClient.upload` (VmHWM, reset through /proc/self/clear_refs, plus a 2 ms sampler) minus RSS just
before it, after one warm-up upload of a small file. The budget (reliability.md item 34) is ≤ 10 MB.
`--compare` also measures sending the same bytes read whole into memory, to show what the figure would catch.
"""

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from packshots.engines.piktid.client import PiktidClient

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
MB = 1024 * 1024


def rss_kb(field: str = "VmRSS") -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)[1])


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux ≥ 4.0)
        return True
    except OSError:
        return False


def synthetic_photo(path: Path, size: int) -> None:
    """A real JPEG (a small noise image) padded with random bytes to `size`, written in chunks so making it
    costs no memory. The PUT does not look inside the body."""
    head = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(head, "JPEG", quality=95)
    with path.open("wb") as out:
        out.write(head.getvalue())
        while (left := size - out.tell()) > 0:
            out.write(os.urandom(min(left, MB)))


def measure(upload) -> tuple[float, float]:
    """(seconds, RSS growth in MB) of one call."""
    before = rss_kb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    hwm_ok = reset_peak()
    sampler.start()
    started = time.perf_counter()
    upload()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    highest = max(peak[0], rss_kb("VmHWM") if hwm_ok else 0)
    return elapsed, (highest - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, help="a photo to push (default: a synthetic file of --size MB)")
    parser.add_argument("--size", type=float, default=25.0, help="MB of the synthetic photo")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="also measure a read-whole-file upload")
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.piktid.fake_server", "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        base_url = re.search(r"(http://127\.0\.0\.1:\d+)", line)[1]
        with tempfile.TemporaryDirectory() as workdir:
            photo = args.photo
            if photo is None:
                photo = Path(workdir) / "photo.jpg"
                synthetic_photo(photo, int(args.size * MB))
            size = photo.stat().st_size
            with PiktidClient(TOKEN, base_url=base_url) as client:
                small = b"\xff\xd8" + b"0" * 1000
                client.upload("warmup.jpg", lambda: io.BytesIO(small), len(small))
                runs = [
                    measure(lambda: client.upload(photo.name, lambda: photo.open("rb"), size))
                    for _ in range(args.repeat)
                ]
                print(f"file: {size / MB:.1f} MB ({'synthetic' if args.photo is None else photo})")
                print(
                    f"streamed upload: median {statistics.median(t for t, _ in runs):.2f} s, "
                    f"RSS growth max {max(g for _, g in runs):.1f} MB "
                    f"(runs: {', '.join(f'{g:.1f}' for _, g in runs)} MB)"
                )
                if args.compare:
                    in_memory = lambda: io.BytesIO(photo.read_bytes())  # noqa: E731
                    whole = measure(lambda: client.upload(photo.name, in_memory, size))
                    print(f"read-whole-file upload (for comparison): RSS growth {whole[1]:.1f} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
