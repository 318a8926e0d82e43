"""The preset library under hostile input: unstorable text, blank names, racing creates, huge documents."""

import json

import pytest
from django.urls import reverse

from packshots.models import Job, Preset
from tests import factories
from tests.views.racing import post_together

HX = {"HX-Request": "true"}


def import_text(client, text: str):
    return client.post(reverse("packshots:preset-import"), {"json_text": text})


def paste_instructions(client, team, where: str, text: str):
    """Paste `text` into the wizard's instructions JSON box (of a new draft) or the preset import box."""
    if where == "wizard":
        job = factories.make_draft(team=team, photos=0)
        url = reverse("packshots:wizard-instructions", args=[job.pk])
        return client.post(url, {"action": "json", "json-json_text": text}, headers=HX)
    return client.post(reverse("packshots:preset-import"), {"json_text": text}, headers=HX)


def nothing_stored(team) -> bool:
    return not Preset.objects.exists() and all(not job.instructions for job in Job.objects.filter(team=team))


# ---------------------------------------------------------------- finding 1: text that cannot be stored


def test_a_lone_surrogate_in_an_imported_preset_is_a_field_error_and_nothing_is_stored(member_client, team):
    # json.dumps writes the lone surrogates as \ud800 / \udc00 escapes, exactly as the attacker's file did.
    text = json.dumps([{"style": "free", "category_names": ["Sum\ud800mer"], "prompt": "\udc00"}])
    response = import_text(member_client, text)
    assert response.status_code == 200
    assert (
        "instructions[0].category_names[0]: contains a character that cannot be stored (U+D800)"
        in response.text
    )
    assert "instructions[0].prompt: contains a character that cannot be stored (U+DC00)" in response.text
    assert not Preset.objects.exists()
    assert member_client.get(reverse("packshots:preset-list")).status_code == 200
    assert member_client.get(reverse("packshots:preset-export")).status_code == 200


@pytest.mark.parametrize("key", ["prompt", "preset_name", "background"])
def test_nul_in_an_imported_preset_is_a_field_error_not_a_database_error(member_client, team, key):
    response = import_text(member_client, json.dumps([{"style": "free", key: "a\x00b"}]))
    assert f"instructions[0].{key}: contains a character that cannot be stored (U+0000)" in response.text
    assert not Preset.objects.exists()


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ("PDP, ri\x07ng", "contains a control character (U+0007)"),
        ("PDP, " + "c" * 101, "categories[1]: must be at most 100 characters (got 101)"),
    ],
)
def test_a_bad_typed_category_is_an_error_next_to_the_field(member_client, team, categories, message):
    data = {"name": "Bell", "categories": categories, "style": "free", "num_variations": "1"}
    response = member_client.post(reverse("packshots:preset-create"), data)
    assert f'data-field="categories">{message}' in response.text
    assert not Preset.objects.exists()


# ---------------------------------------------------------------- finding 5: blank names and racing creates


def test_a_preset_named_with_spaces_only_is_a_field_error(member_client, team):
    response = import_text(member_client, json.dumps([{"style": "free", "preset_name": "   "}]))
    assert response.status_code == 200
    assert "instructions[0].preset_name: must not be blank" in response.text
    data = {"name": " \t ", "style": "free", "num_variations": "1"}
    response = member_client.post(reverse("packshots:preset-create"), data)
    assert 'data-field="name">This field is required.' in response.text
    assert not Preset.objects.exists()


def test_an_imported_name_the_library_already_has_is_reported_at_its_place_in_the_file(member_client, team):
    factories.make_preset(team=team, name="Hero")
    text = json.dumps([{"style": "free", "preset_name": "New"}, {"style": "free", "preset_name": "hero"}])
    response = import_text(member_client, text)
    assert "instructions[1].preset_name: The library already has a preset called “hero”." in response.text
    assert list(Preset.objects.values_list("name", flat=True)) == ["Hero"]  # all or nothing


@pytest.mark.django_db(transaction=True)
def test_four_identical_create_preset_requests_make_one_preset(team, member, monkeypatch):
    data = {"name": "Hero", "style": "free", "num_variations": "1"}
    responses = post_together(
        user=member,
        url=reverse("packshots:preset-create"),
        data=data,
        model=Preset,
        count=4,
        monkeypatch=monkeypatch,
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 302]
    refused = [r for r in responses if r.status_code == 200]
    assert all('data-field="name">The library already has a preset called “Hero”.' in r.text for r in refused)
    assert Preset.objects.filter(team=team).count() == 1


@pytest.mark.django_db(transaction=True)
def test_four_identical_preset_imports_make_one_preset(team, member, monkeypatch):
    data = {"json_text": json.dumps([{"style": "free", "preset_name": "Hero"}])}
    responses = post_together(
        user=member,
        url=reverse("packshots:preset-import"),
        data=data,
        model=Preset,
        count=4,
        monkeypatch=monkeypatch,
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 302]
    refused = [r for r in responses if r.status_code == 200]
    assert all("instructions[0].preset_name: The library already has a preset" in r.text for r in refused)
    assert Preset.objects.filter(team=team).count() == 1


# ---------------------------------------------------------------- finding 3: huge documents, small answers


@pytest.mark.parametrize("where", ["wizard", "import"])
def test_an_instructions_text_over_the_cap_gets_a_small_page_naming_the_limit(member_client, team, where):
    text = "[" + ",".join(["{}"] * 300_000) + "]"  # 900 KB: on the old code a 40 MB error page
    response = paste_instructions(member_client, team, where, text)
    assert response.status_code == 200
    assert "too large: 879 KB; the limit is 512 KB" in response.text
    assert len(response.content) < 50_000  # the text is not echoed back
    assert nothing_stored(team)


@pytest.mark.parametrize("where", ["wizard", "import"])
def test_many_bad_instructions_give_twenty_errors_and_a_count(member_client, team, where):
    text = "[" + ",".join(["{}"] * 170_000) + "]"  # just under the cap
    response = paste_instructions(member_client, team, where, text)
    assert "need 1–10 instructions (got 170000)" in response.text
    assert "instructions[9].style: is required" in response.text
    assert "instructions[10]" not in response.text
    # The pasted text comes back for editing (at most the cap); the errors add little to it.
    assert len(response.content) < len(text) + 20_000
    assert nothing_stored(team)
