"""Whole-job benchmark: photos → finished job through the real services (the CLI path), throwaway database.

    .venv/bin/python -m bench.job --images ../shared/garments --photos 2 --repeat 3

Runs PiktID's example instructions (4 outputs at 2K: 3 ghost mannequin 3:4 + 1 flat lay 1:1) and prints the
median job time, the median time per output, and how the time splits between preparing (segmenting each photo
once) and rendering.
"""

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "fixtures" / "example_instructions.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "garments")
    parser.add_argument("--photos", type=int, default=2, help="photos per job (1-10)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instructions-file", type=Path, default=EXAMPLE)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="packshot-bench-"))
    os.environ["PACKSHOT_VAR_DIR"] = str(workdir / "var")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import CommandError, call_command

    from packshots.models import Job, Result

    with redirect_stdout(io.StringIO()):
        call_command("migrate", verbosity=0)
        call_command("seed_demo")

    photos = sorted(args.images.glob("*.jpg"))
    job_times, per_output, prepare_share = [], [], []
    for run in range(args.repeat):
        folder = workdir / f"garment-{run}"
        folder.mkdir()
        for path in photos[run * args.photos : (run + 1) * args.photos]:
            shutil.copy(path, folder / path.name)
        started = time.perf_counter()
        verdict = "completed"
        with redirect_stdout(io.StringIO()):
            try:
                call_command(
                    "create_packshot",
                    "--input-folder",
                    str(folder),
                    "--output-folder",
                    str(workdir / f"out-{run}"),
                    "--instructions-file",
                    str(args.instructions_file),
                )
            except CommandError as exc:
                if exc.returncode != 2:  # 2: the job finished but needs review (flagged outputs)
                    raise
                verdict = "needs review"
        elapsed = time.perf_counter() - started
        job = Job.objects.latest("pk")
        prepare_seconds = (job.started_at - job.queued_at).total_seconds()  # queued → running = segmentation
        outputs = Result.objects.filter(job=job, status="completed").count()
        job_times.append(elapsed)
        per_output.append((elapsed - prepare_seconds) / outputs)
        prepare_share.append(prepare_seconds)
        print(
            f"run {run + 1}: {elapsed:.2f} s for {outputs} outputs "
            f"({prepare_seconds:.2f} s preparing photos), {verdict}"
        )

    print(f"\njob: {args.photos} photos, {outputs} outputs, {args.repeat} runs on 2 cores")
    print(f"median job time          {statistics.median(job_times):6.2f} s")
    print(f"median preparing photos  {statistics.median(prepare_share):6.2f} s")
    print(f"median per 2K output     {statistics.median(per_output):6.2f} s (render + encode + store)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
