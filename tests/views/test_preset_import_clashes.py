"""Preset import: a name the library already has is refused, skipped or overwritten, as the user chose."""

import json

from django.urls import reverse

from packshots.models import Preset
from tests import factories


def document(*items) -> str:
    return json.dumps({"instructions": list(items)})


def imported(client, text: str, on_clash: str):
    return client.post(
        reverse("packshots:preset-import"), {"json_text": text, "on_clash": on_clash}, follow=True
    )


def clash_setup(team):
    existing = factories.make_preset(team=team, name="White 1K")
    same_name = {**factories.WHITE_CUTOUT, "num_variations": 3, "preset_name": "white 1k"}
    new = {**factories.WHITE_CUTOUT, "preset_name": "Grey 2K"}
    return existing, document(same_name, new)


def test_by_default_a_name_clash_imports_nothing(member_client, team):
    existing, text = clash_setup(team)
    response = imported(member_client, text, "error")
    assert "already" in response.text
    assert list(Preset.objects.filter(team=team).values_list("name", flat=True)) == ["White 1K"]
    existing.refresh_from_db()
    assert existing.instruction.get("num_variations", 1) != 3


def test_skip_keeps_the_library_preset_and_imports_the_rest(member_client, team):
    existing, text = clash_setup(team)
    response = imported(member_client, text, "skip")
    assert "Imported 1 preset. Skipped 1 whose name already exists: White 1K." in response.text
    assert set(Preset.objects.filter(team=team).values_list("name", flat=True)) == {"White 1K", "Grey 2K"}
    existing.refresh_from_db()
    assert existing.instruction.get("num_variations", 1) != 3


def test_overwrite_replaces_the_library_presets_instruction(member_client, team):
    existing, text = clash_setup(team)
    response = imported(member_client, text, "overwrite")
    assert "Imported 2 presets." in response.text
    assert Preset.objects.filter(team=team).count() == 2
    existing.refresh_from_db()
    assert existing.instruction["num_variations"] == 3


def test_an_unknown_clash_choice_is_a_field_error_and_imports_nothing(member_client, team):
    _, text = clash_setup(team)
    response = imported(member_client, text, "merge")
    assert response.status_code == 200 and "Select a valid choice" in response.text
    assert Preset.objects.filter(team=team).count() == 1


def test_presets_of_another_team_never_clash_or_change(member_client, team, other_team):
    theirs = factories.make_preset(team=other_team, name="White 1K")
    _, text = clash_setup(team)
    imported(member_client, text, "overwrite")
    theirs.refresh_from_db()
    assert theirs.instruction.get("num_variations", 1) != 3


def test_a_viewer_cannot_import(viewer_client, team):
    _, text = clash_setup(team)
    response = viewer_client.post(reverse("packshots:preset-import"), {"json_text": text, "on_clash": "skip"})
    assert response.status_code == 403
    assert Preset.objects.filter(team=team).count() == 1
