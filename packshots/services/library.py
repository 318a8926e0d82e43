"""Projects and the team preset library."""

import copy

from django.db import IntegrityError, transaction

from accounts.models import Team, User
from packshots import instructions as schema
from packshots.errors import InvalidInputError, InvalidInstructionsError
from packshots.models import Preset, Project

MAX_PROJECT_NAME_LENGTH = Project._meta.get_field("name").max_length


def _text_errors(**fields: tuple[object, int]) -> dict[str, list[str]]:
    """{field: [message]} for each (value, max length) that breaks the schema's text rule."""
    return {
        field: [error]
        for field, (value, max_length) in fields.items()
        if (error := schema.text_error(value, max_length=max_length))
    }


def _insert(instance: Project | Preset, taken: InvalidInputError) -> None:
    """Save under the team's unique-name constraint: the loser of a race gets `taken`, not a 500.

    The check before this call gives the friendly answer; two identical requests can both pass it, so the
    constraint decides (foreign keys are checked at commit, so an IntegrityError here is the name). The
    savepoint keeps a surrounding transaction usable after the refused INSERT.
    """
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise taken from exc


# ---------------------------------------------------------------- projects


def project_create(*, team: Team, created_by: User, name: str, description: str = "") -> Project:
    """Create a project in the team. Raises InvalidInputError ({"name" | "description": [message]})."""
    name, description = name.strip(), description.strip()
    errors = _text_errors(
        name=(name, MAX_PROJECT_NAME_LENGTH), description=(description, schema.MAX_TEXT_LENGTH)
    )
    if not name:
        errors["name"] = ["Give the project a name."]
    if errors:
        raise InvalidInputError(errors)
    taken = InvalidInputError({"name": [f"Your team already has a project called “{name}”."]})
    if Project.objects.filter(team=team, name__iexact=name).exists():
        raise taken
    project = Project(team=team, created_by=created_by, name=name, description=description)
    _insert(project, taken)
    return project


def project_update(*, project: Project, name: str, description: str = "") -> Project:
    """Rename a project or change its description; same rules and errors as project_create."""
    name, description = name.strip(), description.strip()
    errors = _text_errors(
        name=(name, MAX_PROJECT_NAME_LENGTH), description=(description, schema.MAX_TEXT_LENGTH)
    )
    if not name:
        errors["name"] = ["Give the project a name."]
    if errors:
        raise InvalidInputError(errors)
    taken = InvalidInputError({"name": [f"Your team already has a project called “{name}”."]})
    others = Project.objects.filter(team=project.team, name__iexact=name).exclude(pk=project.pk)
    if others.exists():
        raise taken
    project.name, project.description = name, description
    _insert(project, taken)
    return project


def project_set_archived(*, project: Project, archived: bool) -> Project:
    """Archive (hide from the default list) or restore a project; its jobs are untouched."""
    project.archived = archived
    project.save(update_fields=["archived", "updated_at"])
    return project


# ---------------------------------------------------------------- presets


def preset_save(
    *,
    team: Team,
    author: User,
    name: str,
    instruction: dict,
    categories: list[str],
    preset: Preset | None = None,
) -> Preset:
    """Create or update a preset; name, categories and instruction pass the schema's rules first.

    Raises InvalidInstructionsError for the instruction, InvalidInputError ({"name" | "categories[i]": ...})
    for the rest, including a name the team already uses.
    """
    instruction = {k: v for k, v in instruction.items() if k not in ("preset_name", "category_names")}
    errors = schema.validate_instruction(instruction)
    if errors:
        raise InvalidInstructionsError(errors)
    name = name.strip()
    field_errors = _text_errors(name=(name, schema.MAX_PRESET_NAME_LENGTH))
    if not name:
        field_errors["name"] = ["Give the preset a name."]
    field_errors.update(schema.validate_categories(categories))
    if field_errors:
        raise InvalidInputError(field_errors)
    taken = InvalidInputError({"name": [f"The library already has a preset called “{name}”."]})
    clash = Preset.objects.filter(team=team, name__iexact=name)
    if preset is not None:
        clash = clash.exclude(pk=preset.pk)
    if clash.exists():
        raise taken
    # A copy: a refused save must not leave the caller's preset half-changed.
    preset = copy.copy(preset) if preset is not None else Preset(team=team)
    preset.name = name
    preset.instruction = instruction
    preset.categories = [c.strip() for c in categories if c.strip()]
    preset.author = author
    preset.full_clean(validate_constraints=False)  # the unique name is decided by _insert
    _insert(preset, taken)
    return preset


def _document_key(key: str, index: int) -> str:
    """preset_save's field as a document path: categories[1] → instructions[0].category_names[1]."""
    field, bracket, rest = key.partition("[")
    field = {"name": "preset_name", "categories": "category_names"}.get(field, field)
    return f"instructions[{index}].{field}{bracket}{rest}"


@transaction.atomic
def presets_import(*, team: Team, author: User, text: str | bytes) -> list[Preset]:
    """Import every instruction of a JSON document as presets (all or nothing).

    Raises InvalidInstructionsError keyed by document path (`instructions[2].preset_name`).
    """
    items = schema.load_instructions(text)
    errors = schema.validate_job(instructions=items)
    if errors:
        raise InvalidInstructionsError(errors)
    created = []
    for index, item in enumerate(items):
        name = item.get("preset_name") or f"{schema.describe_instruction(item)} #{index + 1}"
        try:
            categories = item.get("category_names", [])
            preset = preset_save(team=team, author=author, name=name, instruction=item, categories=categories)
        except InvalidInputError as exc:
            errors = {_document_key(key, index): messages for key, messages in exc.field_errors.items()}
            raise InvalidInstructionsError(errors) from exc
        created.append(preset)
    return created


CLASH_CHOICES = ("error", "skip", "overwrite")


@transaction.atomic
def presets_import_resolving(
    *, team: Team, author: User, text: str | bytes, on_clash: str
) -> tuple[list[Preset], list[str]]:
    """presets_import, with a choice for names the library already has: "error" (refuse all, as
    presets_import does), "skip" (keep the library's preset) or "overwrite" (replace its instruction and
    categories). Returns (saved presets, skipped names); all or nothing like presets_import.
    """
    if on_clash not in CLASH_CHOICES:
        raise InvalidInputError({"on_clash": [f"Choose one of: {', '.join(CLASH_CHOICES)}."]})
    items = schema.load_instructions(text)
    errors = schema.validate_job(instructions=items)
    if errors:
        raise InvalidInstructionsError(errors)
    saved, skipped = [], []
    for index, item in enumerate(items):
        name = item.get("preset_name") or f"{schema.describe_instruction(item)} #{index + 1}"
        existing = Preset.objects.filter(team=team, name__iexact=name.strip()).first()
        if existing is not None and on_clash == "skip":
            skipped.append(existing.name)
            continue
        target = existing if on_clash == "overwrite" else None
        try:
            categories = item.get("category_names", [])
            preset = preset_save(
                team=team, author=author, name=name, instruction=item, categories=categories, preset=target
            )
        except InvalidInputError as exc:
            errors = {_document_key(key, index): messages for key, messages in exc.field_errors.items()}
            raise InvalidInstructionsError(errors) from exc
        saved.append(preset)
    return saved, skipped
