"""Jobs for the gallery and download tests: real services, real files, no engine run."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from packshots import services
from packshots.engines.base import OutputEvent
from packshots.models import Job, Result
from tests import factories

_events = iter(range(10**9))


def running_job(*, team, user=None, instructions=None, project=None) -> Job:
    """A started job whose output slots exist (pending), as the local engine leaves them before rendering."""
    instructions = instructions or [{**factories.WHITE_CUTOUT, "num_variations": 2}]
    job = factories.make_draft(team=team, user=user, instructions=instructions, project=project)
    total = sum(i.get("num_variations", 1) for i in instructions)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, total_outputs=total)
    for index, instruction in enumerate(instructions):
        for variation in range(instruction.get("num_variations", 1)):
            Result.objects.create(job=job, instruction_index=index, variation_index=variation)
    job.refresh_from_db()
    return job


def finish_output(job: Job, instruction: int, variation: int, *, version: int = 0, warnings=(), failed=False):
    """Report one output as an engine would (a real JPEG in storage), through engine_event_apply."""
    if failed:
        event = OutputEvent(instruction, variation, version, "failed", error="The cutout was empty.")
    else:
        data = factories.photo_bytes(size=(64, 64), color=(20 * variation, 90, 200))
        image = default_storage.save(f"teams/{job.team_id}/derived/test.jpg", ContentFile(data))
        thumb = default_storage.save(f"teams/{job.team_id}/derived/thumb.jpg", ContentFile(data))
        event = OutputEvent(
            instruction,
            variation,
            version,
            "completed",
            image=image,
            thumbnail=thumb,
            width=64,
            height=64,
            format="jpg",
            bytes=len(data),
            model_used="local",
            confidence=0.91,
            warnings=tuple(warnings),
        )
    services.engine_event_apply(source="test", event_id=f"e{next(_events)}", job_id=job.pk, output=event)
    return Result.objects.get(
        job=job, instruction_index=instruction, variation_index=variation, version=version
    )


def finished_job(*, team, user=None, flagged=(), failed=(), instructions=None, project=None) -> Job:
    """Every output finished; `flagged` / `failed` name (instruction, variation) slots."""
    job = running_job(team=team, user=user, instructions=instructions, project=project)
    for result in list(job.results.all()):
        slot = (result.instruction_index, result.variation_index)
        warnings = ("garment touches the photo's edge",) if slot in flagged else ()
        finish_output(job, *slot, warnings=warnings, failed=slot in failed)
    job.refresh_from_db()
    return job
