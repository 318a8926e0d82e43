"""Getting results out: PiktID-shaped metadata, streamed ZIPs, output folders for the CLI."""

import io
import json
import struct
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import partial

from django.utils import timezone
from django.utils.text import slugify

from packshots import instructions as schema
from packshots.errors import PackshotError
from packshots.models import Job, Result
from packshots.selectors import latest_results

# ---------------------------------------------------------------- downloads


def job_metadata(job: Job) -> dict:
    """The job's results in the shape of PiktID's /results JSON (what the official client saves).

    A PiktID job's is PiktID's own /results JSON as last fetched, as the official client writes it.
    """
    if job.engine == Job.Engine.PIKTID and job.remote_metadata:
        return job.remote_metadata
    results = []
    for r in latest_results(job):
        results.append(
            {
                "job_id": str(job.pk),
                "group_index": r.instruction_index,
                "image_index": r.variation_index,
                "version": r.version,
                "status": r.status,
                "output_format": r.format or schema.output_format(job.instructions[r.instruction_index]),
                "download_filename": r.filename if r.status == Result.Status.COMPLETED else None,
                "width": r.width,
                "height": r.height,
                "model_used": r.model_used or None,
                "quality_score": r.confidence,
                "detail_needs_review": r.awaits_decision or r.needs_review,
                "detail_review_reason": "; ".join(r.warnings) or None,
                "review": r.review or None,
                "review_reason": r.review_reason or None,
                "error_message": r.error or None,
                "created_at": r.created_at.isoformat(),
                "compliance": r.compliance or None,  # {profile: [{rule, passed, detail}]}, when checked
            }
        )
    completed = [r for r in results if r["status"] == "completed"]
    return {
        "job_id": str(job.pk),
        "job_type": "create_packshot",
        "status": job.status,
        "engine": job.engine,
        "project_text": job.project.name,
        "instructions": job.instructions,
        "options": job.options,
        "results": results,
        "summary": {
            "total_images": len(results),
            "successful": len(completed),
            "failed": sum(1 for r in results if r["status"] == "failed"),
        },
        "credits_used": job.estimated_credits if job.engine != "local" else 0,
    }


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are handed out as they are written (zipfile streams into it)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.chunks.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


DOWNLOAD_CHOICES = [("all", "All outputs"), ("approved", "Approved only"), ("selected", "Selected")]


def results_to_zip(job: Job, *, only: str = "all", result_ids: Iterable[int] = ()) -> list[Result]:
    """The latest completed outputs to put in a ZIP: all of them, the approved ones, or the chosen ones.

    Raises PackshotError when that leaves nothing (a ZIP holding only metadata.json helps nobody).
    Chosen ids that are not a latest completed output of this job are ignored.
    """
    results = [r for r in latest_results(job) if r.status == Result.Status.COMPLETED]
    if only == "approved":
        results = [r for r in results if r.review == Result.Review.APPROVED]
        if not results:
            raise PackshotError("No approved outputs yet: approve some, or download all.")
    elif only == "selected":
        chosen = set(result_ids)
        results = [r for r in results if r.pk in chosen]
        if not results:
            raise PackshotError("Tick the finished outputs to download first.")
    return results


def zip_entry_name(result: Result, *, piktid_names: bool = False) -> str:
    """`{project}_{job}_output_{i}_{v}_v{n}.{ext}`: ZIPs of different jobs unzip side by side.

    With piktid_names, PiktID's own `output_{i}_{v}_v{n}.{ext}` (what its client writes).
    """
    if piktid_names:
        return result.filename
    project = slugify(result.job.project.name)[:60] or "project"
    return f"{project}_{result.job_id}_{result.filename}"


def _zip_info(name: str, when: datetime) -> zipfile.ZipInfo:
    # DOS time has no zone and a 2 s step: local time there (what unzip shows), plus the exact UTC
    # second in an "extended timestamp" field (0x5455) that Info-ZIP, 7-Zip and Python's tools honour.
    local = timezone.localtime(when) if timezone.is_aware(when) else when
    info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.extra = struct.pack("<HHBl", 0x5455, 5, 1, int(when.timestamp()))
    return info


def zip_stream(
    job: Job, *, results: list[Result] | None = None, piktid_names: bool = False
) -> Iterator[bytes]:
    """The outputs (default: every latest completed one) plus metadata.json, streamed without a temp file.

    Memory stays constant: each file is copied 1 MB at a time and every chunk is handed out at once.
    Entries carry the output's last change (`updated_at`) as their time.
    """
    if results is None:
        results = results_to_zip(job)
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for result in results:
            info = _zip_info(zip_entry_name(result, piktid_names=piktid_names), result.updated_at)
            with result.image.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                for chunk in iter(partial(src.read, 1 << 20), b""):
                    dst.write(chunk)
                    yield sink.drain()
        archive.writestr(_zip_info("metadata.json", timezone.now()), json.dumps(job_metadata(job), indent=2))
    yield sink.drain()


def outputs_write(*, job: Job, folder) -> list[str]:
    """Write every completed output and metadata.json to a folder (the CLI's output)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in latest_results(job):
        if result.status == Result.Status.COMPLETED:
            with result.image.open("rb") as src:
                (folder / result.filename).write_bytes(src.read())
            written.append(result.filename)
    (folder / "metadata.json").write_text(json.dumps(job_metadata(job), indent=2))
    return written


def review_lines(job: Job) -> list[str]:
    """One line per output that awaits a decision, with the engine's reasons (the CLI's summary)."""
    lines = []
    for r in latest_results(job):
        if r.awaits_decision:
            why = (
                r.error
                if r.status == Result.Status.FAILED
                else "; ".join(r.warnings) or "flagged by the engine"
            )
            lines.append(f"Needs review: {r.filename}: {why}")
    return lines
