"""Team-scoped reads: views never query a model unscoped."""

from django.db.models import Count, Q, QuerySet

from accounts.models import Team
from packshots import instructions as schema
from packshots.models import Job, Preset, Project, Result, Upload


def projects_for_team(team: Team) -> QuerySet[Project]:
    return Project.objects.filter(team=team).annotate(
        job_count=Count("jobs", filter=~Q(jobs__status=Job.Status.DRAFT), distinct=True)
    )


def jobs_for_team(team: Team) -> QuerySet[Job]:
    return Job.objects.filter(team=team).select_related("project", "author")


def presets_for_team(team: Team) -> QuerySet[Preset]:
    return Preset.objects.filter(team=team).select_related("author")


def uploads_for_team(team: Team) -> QuerySet[Upload]:
    return Upload.objects.filter(team=team)


def results_for_team(team: Team) -> QuerySet[Result]:
    return Result.objects.filter(job__team=team).select_related("job")


def latest_results(job: Job) -> list[Result]:
    """The newest version of every output slot, in instruction/variation order.

    Each carries `earlier_versions`: the slot's older completed versions, newest first (kept and viewable).
    """
    by_slot: dict[tuple[int, int], Result] = {}
    for result in job.results.order_by("instruction_index", "variation_index", "-version"):
        slot = (result.instruction_index, result.variation_index)
        if slot not in by_slot:
            result.earlier_versions = []
            by_slot[slot] = result
        elif result.status == Result.Status.COMPLETED:
            by_slot[slot].earlier_versions.append(result)
    return list(by_slot.values())


def instruction_rows(job: Job) -> list[dict]:
    """One row per instruction of a job, with what it will produce and cost."""
    rows = []
    for index, instruction in enumerate(job.instructions):
        outputs = instruction.get("num_variations", 1)
        rows.append(
            {
                "index": index,
                "instruction": instruction,
                "summary": schema.describe_instruction(instruction),
                "outputs": outputs,
                "credits": outputs * schema.output_credits(instruction),
                "size": "×".join(map(str, schema.output_size(instruction))),
            }
        )
    return rows
