"""Team-scoped reads: views never query a model unscoped."""

from datetime import timedelta
from functools import cache

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team
from packshots import instructions as schema
from packshots.models import Job, Preset, Project, Result, Upload, WorkerHeartbeat


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
    rows = job.results.select_related("reviewed_by").order_by(
        "instruction_index", "variation_index", "-version"
    )
    for result in rows:
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
                "number": index + 1,  # what people read; `index` stays the position URLs and outputs use
                "instruction": instruction,
                "summary": schema.describe_instruction(instruction),
                "scene": schema.describe_scene(instruction),
                "outputs": outputs,
                "credits": outputs * schema.output_credits(instruction),
                "size": "×".join(map(str, schema.output_size(instruction))),
            }
        )
    return rows


class SlotRow:
    """The few fields of an output a poll needs, without a model instance (Result's own rules on them)."""

    FIELDS = (
        "instruction_index",
        "variation_index",
        "version",
        "status",
        "needs_review",
        "warnings",
        "review",
        "updated_at",
        "reviewed_at",
    )
    __slots__ = FIELDS
    Status = Result.Status
    is_done = Result.is_done
    awaits_decision = Result.awaits_decision

    def __init__(self, values: tuple) -> None:
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)


def latest_rows(job: Job) -> list[SlotRow]:
    """The newest version of every slot as light rows: a poll with nothing new costs little more than this."""
    by_slot: dict[tuple[int, int], SlotRow] = {}
    for values in job.results.order_by("instruction_index", "variation_index", "-version").values_list(
        *SlotRow.FIELDS
    ):
        by_slot.setdefault((values[0], values[1]), SlotRow(values))
    return list(by_slot.values())


REVIEW_FILTERS = [
    ("needs-review", "Needs review"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("failed", "Failed"),
]


def result_stamp(result: Result | SlotRow) -> int:
    """When an output last changed (rendered, failed, reviewed), in microseconds: what a poll compares."""
    moments = [result.updated_at] + ([result.reviewed_at] if result.reviewed_at else [])
    return int(max(moments).timestamp() * 1_000_000)


def result_state(result: Result | SlotRow | None) -> str:
    """The gallery filter an output falls under (a CSS class on its card)."""
    if result is None or not result.is_done:
        return "pending"
    if result.review:
        return result.review
    if result.awaits_decision:
        return "failed needs-review" if result.status == Result.Status.FAILED else "needs-review"
    return "failed" if result.status == Result.Status.FAILED else "completed"


def gallery_groups(job: Job, results: list[Result]) -> list[dict]:
    """The job's outputs grouped by instruction, one slot per requested output (empty until it exists).

    Every slot is on the page from the start, so a poll only ever replaces cards, never inserts them.
    """
    by_slot = {(r.instruction_index, r.variation_index): r for r in results}
    groups = []
    for index, instruction in enumerate(job.instructions):
        count = max([instruction.get("num_variations", 1)] + [v + 1 for (i, v) in by_slot if i == index])
        summary = schema.describe_instruction(instruction)
        slots = [gallery_slot(job, index, v, by_slot.get((index, v))) for v in range(count)]
        groups.append(
            {
                "index": index,
                "title": instruction.get("preset_name") or summary,
                "summary": summary,
                "slots": slots,
                "done": sum(1 for s in slots if s["result"] is not None and s["result"].is_done),
            }
        )
    return groups


# Reversed once per process and filled in per output: an 80-output page otherwise spends a third of its
# time in reverse() (bench/job_page.py).
_PK = 987654321


@cache
def _url_pattern(name: str, kind: str | None = None) -> str:
    return reverse(name, args=[_PK, kind] if kind else [_PK]).replace(str(_PK), "{}")


def _with_urls(result: Result) -> Result:
    result.image_url = _url_pattern("packshots:result-file", "image").format(result.pk)
    result.thumbnail_url = _url_pattern("packshots:result-file", "thumbnail").format(result.pk)
    result.regenerate_url = _url_pattern("packshots:result-regenerate").format(result.pk)
    for old in getattr(result, "earlier_versions", ()):
        old.image_url = _url_pattern("packshots:result-file", "image").format(old.pk)
    return result


def gallery_slot(job: Job, instruction_index: int, variation_index: int, result: Result | None) -> dict:
    if result is not None:
        _with_urls(result)
    return {
        "id": f"job-{job.pk}-slot-{instruction_index}-{variation_index}",
        "instruction_index": instruction_index,
        "variation_index": variation_index,
        "result": result,
        "state": result_state(result),
    }


def gallery_counts(results: list[Result]) -> dict:
    """How many outputs are done, and how many fall under each review filter."""
    states = [result_state(r) for r in results]
    counts = {key.replace("-", "_"): sum(1 for s in states if key in s.split()) for key, _ in REVIEW_FILTERS}
    counts["done"] = sum(1 for r in results if r.is_done)
    counts["approved_files"] = sum(
        1 for r in results if r.review == Result.Review.APPROVED and r.status == Result.Status.COMPLETED
    )
    return counts


def gallery_since(results: list[Result]) -> int:
    """The newest change among these outputs (0 when there are none): the next poll asks for newer ones."""
    return max((result_stamp(r) for r in results), default=0)


def results_changed_since(results: list[Result], since: int) -> list[Result]:
    return [r for r in results if result_stamp(r) > since]


def local_queue_state(job: Job) -> dict | None:
    """Where a queued local job stands in the task queue, told honestly: tasks ahead of it and live workers.

    Only for the database task queue (a worker's heartbeat says it is alive; `manage.py worker`). None when
    there is nothing to say (the job is not waiting, or another queue backend runs the tasks).
    """
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if job.engine != Job.Engine.LOCAL or job.status != Job.Status.QUEUED:
        return None
    if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        return None
    now = timezone.now()
    workers = WorkerHeartbeat.objects.filter(last_seen__gt=now - timedelta(seconds=30)).count()
    ready = DBTaskResult.objects.ready()
    mine = (
        ready.filter(task_path="packshots.tasks.job_process_task", args_kwargs__kwargs__job_id=job.pk)
        .order_by("enqueued_at")
        .first()
    )
    ahead = ready.filter(enqueued_at__lt=mine.enqueued_at).count() if mine else None
    return {"workers": workers, "ahead": ahead}
