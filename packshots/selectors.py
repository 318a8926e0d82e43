"""Team-scoped reads: views never query a model unscoped."""

import html
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

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
    """The URL with `{}` for the id, escaped for HTML: filled with an int, it stays safe (`_url`)."""
    return html.escape(reverse(name, args=[_PK, kind] if kind else [_PK])).replace(str(_PK), "{}")


def _url(name: str, pk: int, kind: str | None = None) -> SafeString:
    return SafeString(_url_pattern(name, kind).format(int(pk)))


def _html(value: object) -> SafeString:
    """`django.utils.html.escape` without its check for lazy strings (none reach here): a card has ~20."""
    return SafeString(html.escape(str(value)))


def _digits(value: int | None) -> SafeString:
    """A whole number as HTML ("" for None): digits need no escaping."""
    return SafeString("" if value is None else int(value))


def _two_places(value: float | None) -> str | None:
    """`floatformat:2` as this app shows it (English, no grouping), at a tenth of its cost."""
    return None if value is None else str(Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _file_size(size: int) -> str:
    """`filesizeformat` as this app shows it (English, no grouping), at a tenth of its cost."""
    for unit, scale in (("PB", 1 << 50), ("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{round(size / scale, 1):.1f}\xa0{unit}"
    return f"{size}\xa0byte{'' if size == 1 else 's'}"


def _card(result: Result) -> dict:
    """What a result card shows, formatted and escaped once here (bench/job_page.py).

    The template only places these strings: a number left to the template goes through localisation, and
    80 cards of ~40 values each made that the bulk of the job page's time.
    """
    return {
        "pk": _digits(result.pk),
        "status": result.status,
        "is_completed": result.status == Result.Status.COMPLETED,
        "is_done": result.is_done,
        "name": _html(result.filename),
        "image_url": _url("packshots:result-file", result.pk, "image"),
        "thumbnail_url": _url("packshots:result-file", result.pk, "thumbnail"),
        "regenerate_url": _url("packshots:result-regenerate", result.pk),
        "version": _digits(result.version),
        "width": _digits(result.width),
        "height": _digits(result.height),
        "size": _html(f"{result.width} × {result.height} px"),
        "format": _html(result.format.upper()),
        "file_size": _html(_file_size(result.bytes)) if result.bytes else "",
        "bytes": _digits(result.bytes or None),
        "model": _html(result.model_used or "—"),
        "confidence": _two_places(result.confidence),
        "quality": _two_places(result.quality_score),
        "warnings": [_html(w) for w in result.warnings or ()],
        "error": _html(result.error),
        "review": result.review,
        "review_label": result.get_review_display() if result.review else "",
        "reviewer": _html(result.reviewed_by.get_short_name()) if result.reviewed_by_id else "",
        "review_reason": _html(result.review_reason),
        "awaits_decision": result.awaits_decision,
        "compliance": result.compliance_summary if result.compliance else (),
        "earlier": [
            {"url": _url("packshots:result-file", old.pk, "image"), "version": _digits(old.version)}
            for old in getattr(result, "earlier_versions", ())
        ],
    }


def gallery_slot(job: Job, instruction_index: int, variation_index: int, result: Result | None) -> dict:
    """One card of the gallery: where it sits, its filter state, and (`card`) its output's values, if any."""
    return {
        "id": _html(f"job-{job.pk}-slot-{instruction_index}-{variation_index}"),
        "instruction_index": instruction_index,
        "variation_index": variation_index,
        "result": result,
        "card": _card(result) if result is not None else None,
        "classes": _html(f"result-{(result and result.status) or 'waiting'} state-{result_state(result)}"),
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
