"""Projects and the team preset library."""

from django.db import transaction

from accounts.models import Team, User
from packshots import instructions as schema
from packshots.errors import InvalidInstructionsError, PackshotError
from packshots.models import Preset, Project

# ---------------------------------------------------------------- projects


def project_create(*, team: Team, created_by: User, name: str, description: str = "") -> Project:
    name = name.strip()
    if not name:
        raise PackshotError("Give the project a name.")
    if Project.objects.filter(team=team, name__iexact=name).exists():
        raise PackshotError(f"Your team already has a project called “{name}”.")
    return Project.objects.create(
        team=team, created_by=created_by, name=name, description=description.strip()
    )


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
    """Create or update a preset; the instruction is checked against the schema first."""
    instruction = {k: v for k, v in instruction.items() if k not in ("preset_name", "category_names")}
    errors = schema.validate_instruction(instruction)
    if errors:
        raise InvalidInstructionsError(errors)
    clash = Preset.objects.filter(team=team, name__iexact=name.strip())
    if preset is not None:
        clash = clash.exclude(pk=preset.pk)
    if clash.exists():
        raise PackshotError(f"The library already has a preset called “{name.strip()}”.")
    preset = preset or Preset(team=team)
    preset.name = name.strip()
    preset.instruction = instruction
    preset.categories = [c.strip() for c in categories if c.strip()]
    preset.author = author
    preset.full_clean()
    preset.save()
    return preset


@transaction.atomic
def presets_import(*, team: Team, author: User, text: str | bytes) -> list[Preset]:
    """Import every instruction of a JSON document as presets (all or nothing)."""
    items = schema.load_instructions(text)
    errors = schema.validate_job(instructions=items)
    if errors:
        raise InvalidInstructionsError(errors)
    created = []
    for index, item in enumerate(items):
        name = item.get("preset_name") or f"{schema.describe_instruction(item)} #{index + 1}"
        created.append(
            preset_save(
                team=team,
                author=author,
                name=name,
                instruction=item,
                categories=item.get("category_names", []),
            )
        )
    return created
