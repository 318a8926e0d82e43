from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import team_editor_required, team_member_required
from accounts.http import HtmxHttpRequest
from packshots import instructions as schema
from packshots import services
from packshots.errors import InvalidInputError, InvalidInstructionsError, PackshotError
from packshots.forms import PresetForm, PresetImportForm, add_schema_errors
from packshots.selectors import presets_for_team
from packshots.services import library


def _preset_rows(presets, *, category: str = "") -> list[dict]:
    return [
        {
            "preset": p,
            "summary": schema.describe_instruction(p.instruction),
            "scene": schema.describe_scene(p.instruction),
        }
        for p in presets
        if not category or category in p.categories
    ]


@require_GET
@team_member_required
def preset_list(request: HtmxHttpRequest) -> HttpResponse:
    presets = presets_for_team(request.team)
    category = request.GET.get("category", "")
    rows = _preset_rows(presets, category=category)
    categories = sorted({c for p in presets for c in p.categories})
    return render(
        request,
        "packshots/preset_list.html",
        {"rows": rows, "categories": categories, "category": category, "import_form": PresetImportForm()},
    )


@require_http_methods(["GET", "POST"])
@team_editor_required
def preset_edit(request: HtmxHttpRequest, preset_id: int | None = None) -> HttpResponse:
    preset = get_object_or_404(presets_for_team(request.team), pk=preset_id) if preset_id else None
    initial = {"name": preset.name, "categories": ", ".join(preset.categories)} if preset else {}
    form = PresetForm(request.POST or None, base=preset.instruction if preset else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.preset_save(
                team=request.team,
                author=request.user,
                name=form.cleaned_data["name"],
                instruction=form.cleaned_data["instruction"],
                categories=form.cleaned_data["categories"],
                preset=preset,
            )
        except (InvalidInstructionsError, InvalidInputError) as exc:
            add_schema_errors(form, exc.field_errors, {})
        else:
            messages.success(request, f"Preset “{saved.name}” saved.")
            for note in form.notes:  # what the form did not keep, and why
                messages.info(request, note)
            return redirect("packshots:preset-list")
    return render(request, "packshots/preset_form.html", {"form": form, "preset": preset})


@require_POST
@team_editor_required
def preset_delete(request: HtmxHttpRequest, preset_id: int) -> HttpResponse:
    preset = get_object_or_404(presets_for_team(request.team), pk=preset_id)
    preset.delete()
    messages.success(request, f"Preset “{preset.name}” deleted.")
    return redirect("packshots:preset-list")


@require_POST
@team_editor_required
def preset_import(request: HtmxHttpRequest) -> HttpResponse:
    form = PresetImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            saved, skipped = library.presets_import_resolving(
                team=request.team,
                author=request.user,
                text=schema.dump_instructions(form.cleaned_data["instructions"]),
                on_clash=form.cleaned_data["on_clash"],
            )
        except InvalidInstructionsError as exc:
            add_schema_errors(form, exc.field_errors, {})
        except PackshotError as exc:
            form.add_error(None, str(exc))
        else:
            text = f"Imported {len(saved)} preset{'s' if len(saved) != 1 else ''}."
            if skipped:
                text += f" Skipped {len(skipped)} whose name already exists: {', '.join(skipped)}."
            messages.success(request, text)
            return redirect("packshots:preset-list")
    presets = presets_for_team(request.team)
    rows = _preset_rows(presets)
    return render(request, "packshots/preset_list.html", {"rows": rows, "import_form": form}, status=200)


@require_GET
@team_member_required
def preset_export(request: HtmxHttpRequest) -> HttpResponse:
    """The library as PiktID instructions JSON (preset_name / category_names carry the metadata)."""
    text = schema.dump_instructions([p.as_instruction() for p in presets_for_team(request.team)])
    response = HttpResponse(text, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{request.team.slug}_presets.json"'
    return response
