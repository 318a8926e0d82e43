"""CLI parity with PiktID's official `create_packshot.py`, running through the web app's own services.

Same flag names and defaults (`--token`, `--base-url` too); the job it creates shows up in the UI like any
other. It runs the job in this process, so no worker is needed; on a fresh clone it prepares the embedded
database first, as `make run` does.
"""

import argparse
import logging
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from packshots import instructions as schema
from packshots import services, tasks
from packshots.errors import PackshotError
from packshots.models import Job, Project

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
MAX_PROJECT_NAME = Project._meta.get_field("name").max_length


class Command(BaseCommand):
    help = (
        "Generate clean product packshots from a folder of garment photos (like PiktID's create_packshot.py)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--input-folder", required=True, help="Folder with 1-10 photos of one garment")
        parser.add_argument("--output-folder", default="output", help="Where outputs go (default: output)")
        simple = parser.add_argument_group("instructions (simple mode)")
        simple.add_argument("--style", default="ghost_mannequin", choices=schema.STYLES)
        simple.add_argument("--prompt", default=None)
        simple.add_argument("--background", default=None)
        simple.add_argument("--framing", default=None, choices=schema.FRAMINGS)
        simple.add_argument("--angle", default=None, choices=schema.ANGLES)
        simple.add_argument("--shadow", default=None, choices=schema.SHADOWS)
        simple.add_argument("--surface", default=None)
        simple.add_argument("--num-variations", type=int, default=1, help="1-8 (default: 1)")
        simple.add_argument("--size", default=None, choices=schema.SIZES)
        simple.add_argument("--aspect-ratio", default=None, choices=schema.ASPECT_RATIOS)
        simple.add_argument("--format", default=None, dest="fmt", choices=schema.FORMATS)
        simple.add_argument("--seed", type=int, default=None)
        parser.add_argument("--instructions-file", default=None, help='JSON list or {"instructions": [...]}')
        parser.add_argument("--image-notes", nargs="+", default=None, help="Per-image notes in file order")
        parser.add_argument("--model", default="auto", choices=schema.MODELS)
        parser.add_argument("--use-anchor", action="store_true", default=False)
        parser.add_argument("--anchor-index", type=int, default=0)
        parser.add_argument("--post-process", action="store_true", default=False)
        parser.add_argument("--engine", default="local", choices=[c for c, _ in Job.Engine.choices])
        piktid = parser.add_argument_group("PiktID engine")
        piktid.add_argument(
            "--token", default=None, help="PiktID API token (default: the team's, else PIKTID_TOKEN)"
        )
        piktid.add_argument("--base-url", default=None, help="PiktID API base URL (default: PIKTID_BASE_URL)")
        piktid.add_argument(
            "--poll-interval", type=float, default=5.0, help="Seconds between polls (default: 5)"
        )
        piktid.add_argument("--timeout", type=float, default=1200.0, help="Give up after (default: 1200 s)")
        parser.add_argument("--team", default=None, help="Team slug (default: the only team there is)")
        parser.add_argument("--project", default=None, help="Project name (default: the input folder's name)")
        parser.add_argument("--user", default=None, help="E-mail of the member the job is created for")

    def handle(self, *args, **opts) -> None:
        # One line per HTTP call (pre-signed URLs included) drowns the progress lines; -v 2 shows them.
        httpx_log = logging.getLogger("httpx")
        level = httpx_log.level
        if opts["verbosity"] < 2:
            httpx_log.setLevel(logging.WARNING)
        try:
            self._run(opts)
        except PackshotError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            httpx_log.setLevel(level)

    def _run(self, opts: dict) -> None:
        request = self._request(opts)
        if services.database_prepare(stdout=self.stdout):
            self.stdout.write("Prepared the embedded database (migrated, demo team created).")
        membership = services.membership_for_cli(team_slug=opts["team"], email=opts["user"])
        credentials = None
        if opts["engine"] == Job.Engine.PIKTID:
            credentials = services.piktid_credentials_for_cli(
                team=membership.team, token=opts["token"], base_url=opts["base_url"]
            )
        outputs = schema.total_outputs(request["instructions"])
        self.stdout.write(f"Create Packshot: {len(request['photos'])} images, {outputs} outputs")
        job = services.job_create_from_files(membership=membership, **request)
        self.stdout.write(
            f"Job #{job.pk} created in project “{job.project.name}” (team {membership.team.slug})"
        )
        if credentials is not None:
            job = services.piktid_run_here(
                job_id=job.pk,
                credentials=credentials,
                poll_s=opts["poll_interval"],
                timeout_s=opts["timeout"],
                report=self.stdout.write,
            )
        else:
            job = self._run_local(job)
        if job.status == Job.Status.FAILED and not job.results.exists():
            raise CommandError(job.error_message or f"Job #{job.pk} failed.")
        written = services.outputs_write(job=job, folder=Path(opts["output_folder"]))
        for name in written:
            self.stdout.write(f"Downloaded: {name}")
        self.stdout.write(f"Results saved to {opts['output_folder']} (job status: {job.status})")
        for line in services.review_lines(job):
            self.stdout.write(line)
        if job.status == Job.Status.NEEDS_REVIEW and not job.results.filter(status="failed").exists():
            # Every output was written, but some were flagged: a distinct exit code scripts can tell apart.
            raise CommandError(f"Job #{job.pk} needs review: {job.error_message}", returncode=2)
        if job.status != Job.Status.COMPLETED:
            raise CommandError(
                f"Job #{job.pk} did not complete ({job.get_status_display()}): {job.error_message}"
            )

    def _request(self, opts: dict) -> dict:
        """Everything the job is made of, checked before the database is touched."""
        folder = Path(opts["input_folder"])
        photos = self._photos(folder)
        instructions = self._instructions(opts)
        notes = opts["image_notes"] or []
        if len(notes) > len(photos):
            raise CommandError(f"--image-notes has {len(notes)} notes for {len(photos)} images")
        if not (opts["poll_interval"] > 0 and opts["timeout"] > 0):  # NaN too
            raise CommandError("--poll-interval and --timeout take a number of seconds above 0")
        job_options = {"model": opts["model"]}
        if opts["use_anchor"]:
            job_options.update(use_anchor=True, anchor_index=opts["anchor_index"])
        errors = schema.validate_job(
            instructions=instructions,
            images=[
                {"file_id": p.name, "note": notes[i] if i < len(notes) else ""} for i, p in enumerate(photos)
            ],
            options=job_options,
            post_process=opts["post_process"],
        )
        if errors:
            raise CommandError(schema.format_errors(errors))
        # The same text rule as the web forms, before any of it reaches a query (PostgreSQL refuses NUL).
        project_name = opts["project"] or folder.resolve().name
        names = (
            ("--project", project_name, MAX_PROJECT_NAME),
            ("--team", opts["team"], 254),
            ("--user", opts["user"], 254),
        )
        for flag, value, max_length in names:
            if value is not None and (error := schema.text_error(value, max_length=max_length)):
                raise CommandError(f"{flag}: {error}")
        return {
            "project_name": project_name,
            "photos": photos,
            "notes": notes,
            "instructions": instructions,
            "engine": opts["engine"],
            "options": job_options,
            "post_process": opts["post_process"],
        }

    def _run_local(self, job: Job) -> Job:
        # Here and now, so the CLI works even when no worker process is running.
        tasks.job_run_here(job_id=job.pk)
        job.refresh_from_db()
        return job

    def _photos(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            raise CommandError(f"Input folder not found: {folder}")
        photos = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
        )
        if not photos:
            raise CommandError(f"No .jpg, .jpeg or .png images in {folder}")
        if len(photos) > schema.MAX_IMAGES:
            self.stderr.write(
                f"Warning: found {len(photos)} images; a job takes at most 10. Using the first 10."
            )
            photos = photos[: schema.MAX_IMAGES]
        return photos

    def _instructions(self, opts: dict) -> list[dict]:
        if opts["instructions_file"]:
            path = Path(opts["instructions_file"])
            if not path.is_file():
                raise CommandError(f"Instructions file not found: {path}")
            if path.stat().st_size > schema.MAX_INSTRUCTIONS_BYTES:  # refused before it is read into memory
                raise CommandError(f"{path.name}: larger than {schema.MAX_INSTRUCTIONS_BYTES // 1024} KB")
            try:
                return schema.load_instructions(path.read_bytes())
            except schema.InstructionsError as exc:
                raise CommandError(f"{path.name}: {exc}") from exc
        instruction: dict = {"style": opts["style"]}
        for key in ("prompt", "background", "framing", "angle", "shadow", "surface"):
            if opts[key]:
                instruction[key] = opts[key]
        if opts["seed"] is not None:
            instruction["seed"] = opts["seed"]
        if opts["num_variations"] != 1:
            instruction["num_variations"] = opts["num_variations"]
        options = {
            k: v
            for k, v in (("size", opts["size"]), ("ar", opts["aspect_ratio"]), ("format", opts["fmt"]))
            if v
        }
        if options:
            instruction["options"] = options
        return [instruction]
