"""Peak memory of the web process while it accepts one photo (services.upload_add), in a fresh process.

    python -m bench.upload_memory PHOTO [PHOTO ...]

Each photo runs in its own child process against a throwaway SQLite database and media folder; the figure is
the peak resident memory during the upload (VmHWM, reset just before) minus the resident memory before it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _measure(photo: Path) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    from packshots import services
    from packshots.errors import PackshotError
    from tests import factories

    call_command("migrate", verbosity=0)
    team = factories.make_team("Bench")
    user = factories.make_user("bench@example.com", team=team)
    job = factories.make_draft(team=team, user=user, photos=0)
    with photo.open("rb") as f:
        baseline = _kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        started = time.perf_counter()
        try:
            services.upload_add(job=job, uploaded_by=user, file=File(f, name=photo.name))
            outcome = "accepted"
        except PackshotError as exc:
            outcome = f"refused: {exc}"
        seconds = time.perf_counter() - started
    peak = _kib("VmHWM")
    return {
        "photo": photo.name,
        "bytes": photo.stat().st_size,
        "peak_mb": round((peak - baseline) / 1024, 1),
        "seconds": round(seconds, 2),
        "outcome": outcome,
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        os.environ["PACKSHOT_VAR_DIR"] = tempfile.mkdtemp(prefix="packshot-bench-")
        print(json.dumps(_measure(Path(sys.argv[2]))))
        return
    for photo in sys.argv[1:]:
        child = subprocess.run(
            [sys.executable, "-m", "bench.upload_memory", "--child", photo],
            capture_output=True,
            text=True,
            check=True,
        )
        print(child.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
