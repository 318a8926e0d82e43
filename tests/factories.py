"""Small factory functions with sensible defaults (no factory library)."""

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image

from accounts.models import Membership, Team, User
from packshots import services
from packshots.models import Job, Preset, Project, Result

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WHITE_CUTOUT = {"style": "white_cutout", "options": {"size": "1K", "ar": "1:1", "format": "jpg"}}


def make_team(name: str = "Alpha") -> Team:
    return Team.objects.create(name=name, slug=name.lower().replace(" ", "-"))


def make_user(
    email: str, *, team: Team | None = None, role: str = "member", password: str = "pw-secret-123"
) -> User:
    user = User.objects.create_user(email, password)
    if team is not None:
        Membership.objects.create(user=user, team=team, role=role)
    return user


def make_project(*, team: Team, user: User | None = None, name: str = "Spring drop") -> Project:
    user = user or team.memberships.first().user
    return Project.objects.get_or_create(team=team, name=name, defaults={"created_by": user})[0]


def photo_bytes(size: tuple[int, int] = (240, 320), fmt: str = "JPEG", color=(200, 40, 60)) -> bytes:
    """A garment-like test photo: a coloured block on a light textured background."""
    image = Image.new("RGB", size, (225, 222, 215))
    w, h = size
    image.paste(Image.new("RGB", (w // 2, h // 2), color), (w // 4, h // 4))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def photo_file(name: str = "front.jpg", **kwargs) -> SimpleUploadedFile:
    fmt = "PNG" if name.lower().endswith(".png") else "JPEG"
    return SimpleUploadedFile(name, photo_bytes(fmt=fmt, **kwargs), content_type=f"image/{fmt.lower()}")


def make_draft(
    *, team: Team, user: User | None = None, photos: int = 1, instructions=None, project=None
) -> Job:
    user = user or team.memberships.first().user
    project = project or make_project(team=team, user=user)
    job = services.job_draft_create(project=project, author=user)
    for i in range(photos):
        services.upload_add(job=job, uploaded_by=user, file=photo_file(f"photo{i}.jpg"))
    if instructions is not None:
        services.job_set_instructions(job=job, instructions=instructions)
    return job


def start_job(job: Job) -> Job:
    """Start a draft and run what its commit enqueues (tests never commit, so run the callbacks here)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.job_start(job=job)
    job.refresh_from_db()
    return job


def make_job(
    *, team: Team, status: str = Job.Status.QUEUED, user: User | None = None, results: int = 0
) -> Job:
    """A started job in any state, without running an engine."""
    job = make_draft(team=team, user=user, instructions=[{**WHITE_CUTOUT, "num_variations": max(results, 1)}])
    Job.objects.filter(pk=job.pk).update(status=status, total_outputs=max(results, 1))
    for v in range(results):
        Result.objects.create(job=job, instruction_index=0, variation_index=v)
    job.refresh_from_db()
    return job


def make_preset(*, team: Team, name: str = "White 1K", instruction=None, categories=("PDP",)) -> Preset:
    return Preset.objects.create(
        team=team, name=name, instruction=instruction or dict(WHITE_CUTOUT), categories=list(categories)
    )
