"""CLI parity with PiktID's `batch_create_packshot.py`: one job per garment folder, several at a time.

Same flags and defaults (`--parallel` 3, capped at 5; one `<output-dir>/<folder>/` per SKU;
`batch_summary_<YYYYmmdd_HHMMSS>.json`), but every job goes through the web app's services: the run is
recorded as a batch (its page shows progress and exports the batch ZIP), and PiktID jobs go through the
shared limiter, so `--parallel` never causes a 429 whatever else uses the account.
"""

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from django.core.management.base import CommandError
from django.db import close_old_connections, connections
from django.utils import timezone

from batches import services as batch_services
from batches.models import Batch, Sku
from packshots import instructions as schema
from packshots import services, tasks
from packshots.errors import PackshotError
from packshots.management.commands import create_packshot
from packshots.models import Job

MAX_PARALLEL = 5


class Command(create_packshot.Command):
    help = "Generate packshots for many garment folders in parallel (like PiktID's batch_create_packshot.py)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        inputs = parser.add_mutually_exclusive_group(required=True)
        inputs.add_argument("--input-dir", help="Folder of garment subfolders (each one is a SKU, a job)")
        inputs.add_argument("--input-folders", nargs="+", help="Specific garment folders")
        parser.add_argument("--output-dir", default="output", help="Results go to <output-dir>/<folder>/")
        parser.add_argument("--parallel", type=int, default=3, help="Jobs at once (default: 3, max: 5)")
        # Every flag of create_packshot except its single input and output folders.
        single = argparse.ArgumentParser(add_help=False)
        super().add_arguments(single)
        for action in single._actions:
            if action.dest in ("input_folder", "output_folder", "help"):
                continue
            kwargs = {"dest": action.dest, "default": action.default, "help": action.help}
            if isinstance(action, argparse._StoreTrueAction):
                kwargs["action"] = "store_true"
            else:
                kwargs.update(type=action.type, choices=action.choices, nargs=action.nargs)
            parser.add_argument(*action.option_strings, **kwargs)
        parser.add_argument(
            "--name", default=None, help="The batch's name (default: the input folder's name)"
        )

    def _run(self, opts: dict) -> None:
        folders = self._folders(opts)
        parallel = max(1, min(opts["parallel"], MAX_PARALLEL))
        if opts["parallel"] > MAX_PARALLEL:
            self.stderr.write(f"Warning: --parallel {opts['parallel']} is capped at {MAX_PARALLEL}.")
        # Bad instructions stop everything, before the database is touched (photos are checked per folder).
        instructions = self._instructions(opts)
        if errors := schema.validate_job(instructions=instructions):
            raise CommandError(schema.format_errors(errors))
        requests, refused = {}, {}
        for folder in folders:
            try:
                requests[folder] = self._request({**opts, "input_folder": str(folder), "project": "batch"})
            except CommandError as exc:  # this folder only (no photos, too many notes): the others go on
                refused[folder] = str(exc)
        if not requests:
            raise CommandError(
                "No folder can be processed: " + "; ".join(f"{f.name}: {m}" for f, m in refused.items())
            )
        if services.database_prepare(stdout=self.stdout):
            self.stdout.write("Prepared the embedded database (migrated, demo team created).")
        membership = services.membership_for_cli(team_slug=opts["team"], email=opts["user"])
        credentials = None
        if opts["engine"] == Job.Engine.PIKTID:
            credentials = services.piktid_credentials_for_cli(
                team=membership.team, token=opts["token"], base_url=opts["base_url"]
            )
        base = Path(opts["input_dir"]).resolve().name if opts["input_dir"] else "batch"
        batch = batch_services.batch_create(
            team=membership.team,
            author=membership.user,
            name=opts["name"] or base,
            project_name=opts["project"] or base,
            source=Batch.Source.FOLDER,
        )
        Batch.objects.filter(pk=batch.pk).update(
            status=Batch.Status.RUNNING,
            engine=opts["engine"],
            instructions=[schema.normalize_instruction(i) for i in instructions],
            sku_count=len(folders),
            photo_count=sum(len(r["photos"]) for r in requests.values()),
            started_at=timezone.now(),
        )
        output_dir = Path(opts["output_dir"])
        self._banner(opts, folders, parallel, output_dir, batch)
        started = time.monotonic()
        results = []
        lock = threading.Lock()

        def one(folder: Path) -> dict:
            if folder in refused:
                return {
                    "folder": folder.name,
                    "success": False,
                    "status": "failed",
                    "job_id": None,
                    "outputs": [],
                    "errors": [refused[folder]],
                    "error": refused[folder],
                    "processing_time": 0.0,
                }
            try:
                return self._one(folder, requests[folder], batch, membership, credentials, opts, output_dir)
            finally:
                connections.close_all()  # this thread's connection, before the pool reuses or drops it

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = {pool.submit(one, folder): folder for folder in folders}
            for future in as_completed(futures):
                folder = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # a crash in one SKU never stops the others
                    result = {"folder": folder.name, "success": False, "status": "error", "error": str(exc)}
                with lock:
                    results.append(result)
                    state = "OK" if result["success"] else "FAILED"
                    took = f" ({result['processing_time']}s)" if "processing_time" in result else ""
                    self.stdout.write(f"[{len(results)}/{len(folders)}] {folder.name}: {state}{took}")
        close_old_connections()
        elapsed = time.monotonic() - started
        results.sort(key=lambda r: r["folder"])
        successful = sum(1 for r in results if r["success"])
        failed = len(results) - successful
        summary = {
            "timestamp": datetime.now().isoformat(),
            "configuration": {
                "parallel": parallel,
                "engine": opts["engine"],
                "model": opts["model"],
                "style": opts["style"],
                "use_anchor": opts["use_anchor"],
                "anchor_index": opts["anchor_index"],
                "post_process": opts["post_process"],
                "base_url": (credentials.base_url if credentials else None),
                "instructions_file": opts["instructions_file"],
                "batch_id": batch.pk,
            },
            "total_folders": len(results),
            "successful": successful,
            "failed": failed,
            "total_time_seconds": round(elapsed, 1),
            "results": results,
        }
        output_dir.mkdir(parents=True, exist_ok=True)
        summary_file = output_dir / f"batch_summary_{datetime.now().strftime('%Y%m%d_%H%M%S')}.json"
        summary_file.write_text(json.dumps(summary, indent=2))
        self.stdout.write(
            f"Summary: {len(results)} total, {successful} successful, {failed} failed, {elapsed:.1f}s "
            f"(batch #{batch.pk})"
        )
        for r in results:
            if not r["success"]:
                self.stdout.write(f"  - {r['folder']}: {r.get('error') or r['status']}")
        self.stdout.write(f"Batch summary saved to {summary_file}")
        if failed:
            raise CommandError(f"{failed} of {len(results)} folders failed.")

    def _one(self, folder, request, batch, membership, credentials, opts, output_dir) -> dict:
        start = time.monotonic()
        result: dict = {"folder": folder.name, "success": False, "job_id": None, "outputs": [], "errors": []}

        def report(line: str) -> None:
            self.stdout.write(f"[{folder.name}] {line}")

        try:
            job = services.job_create_from_files(
                membership=membership, **{**request, "project_name": batch.project.name}
            )
            Sku.objects.create(batch=batch, name=folder.name[:120], job=job, status=Sku.Status.STARTED)
            result["job_id"] = job.pk
            report(f"Job #{job.pk}: {len(request['photos'])} images, {job.total_outputs} outputs")
            if credentials is not None:
                job = services.piktid_run_here(
                    job_id=job.pk,
                    credentials=credentials,
                    poll_s=opts["poll_interval"],
                    timeout_s=opts["timeout"],
                    report=report,
                )
            else:
                job = self._run_local(job)
            result["outputs"] = services.outputs_write(job=job, folder=output_dir / folder.name)
            result["status"] = job.status
            failed = job.results.filter(status="failed")
            result["errors"] = [f"output {r.filename}: {r.error}" for r in failed] or (
                [job.error_message] if job.status == Job.Status.FAILED and job.error_message else []
            )
            result["success"] = job.status == Job.Status.COMPLETED or (
                job.status == Job.Status.NEEDS_REVIEW and not failed.exists()
            )
            if job.status == Job.Status.NEEDS_REVIEW:
                result["needs_review"] = services.review_lines(job)
        except PackshotError as exc:
            result["status"] = "failed"
            result["errors"].append(str(exc))
            report(f"Failed: {exc}")
        result["error"] = "; ".join(result["errors"]) or None
        result["processing_time"] = round(time.monotonic() - start, 1)
        return result

    def _run_local(self, job: Job) -> Job:
        # Here and now, so the CLI works even when no worker process is running.
        tasks.job_run_here(job_id=job.pk)
        job.refresh_from_db()
        return job

    def _folders(self, opts: dict) -> list[Path]:
        if opts["input_dir"]:
            root = Path(opts["input_dir"])
            if not root.is_dir():
                raise CommandError(f"Input directory not found: {root}")
            folders = sorted(f for f in root.iterdir() if f.is_dir() and not f.name.startswith("."))
        else:
            folders = [Path(f) for f in opts["input_folders"]]
            missing = [str(f) for f in folders if not f.is_dir()]
            if missing:
                raise CommandError("Folder not found: " + ", ".join(missing))
        if not folders:
            raise CommandError("No folders to process")
        names = [f.name for f in folders]
        if len(set(names)) != len(names):
            raise CommandError("Two input folders have the same name; each SKU needs its own output folder.")
        if len(folders) > batch_services.max_skus():
            raise CommandError(f"{len(folders)} folders; a batch takes at most {batch_services.max_skus()}.")
        return folders

    def _banner(self, opts, folders, parallel, output_dir, batch) -> None:
        self.stdout.write("=" * 70)
        self.stdout.write("Batch Create Packshot")
        self.stdout.write(f"  Folders to process: {len(folders)}")
        self.stdout.write(f"  Parallel workers:   {parallel}")
        self.stdout.write(f"  Output directory:   {output_dir}")
        self.stdout.write(f"  Engine:             {opts['engine']} (model {opts['model']})")
        self.stdout.write(f"  Batch:              #{batch.pk} in project “{batch.project.name}”")
        self.stdout.write("=" * 70)
