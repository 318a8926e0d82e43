"""The preset library under hostile input: unstorable text, blank names, racing creates, huge documents."""

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
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
        "instruction #1, category_names[0]: contains a character that cannot be stored (U+D800)"
        in response.text
    )
    assert "instruction #1, prompt: contains a character that cannot be stored (U+DC00)" in response.text
    assert not Preset.objects.exists()
    assert member_client.get(reverse("packshots:preset-list")).status_code == 200
    assert member_client.get(reverse("packshots:preset-export")).status_code == 200


@pytest.mark.parametrize("key", ["prompt", "preset_name", "background"])
def test_nul_in_an_imported_preset_is_a_field_error_not_a_database_error(member_client, team, key):
    response = import_text(member_client, json.dumps([{"style": "free", key: "a\x00b"}]))
    assert f"instruction #1, {key}: contains a character that cannot be stored (U+0000)" in response.text
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
    assert "instruction #1, preset_name: must not be blank" in response.text
    data = {"name": " \t ", "style": "free", "num_variations": "1"}
    response = member_client.post(reverse("packshots:preset-create"), data)
    assert 'data-field="name">This field is required.' in response.text
    assert not Preset.objects.exists()


def test_an_imported_name_the_library_already_has_is_reported_at_its_place_in_the_file(member_client, team):
    factories.make_preset(team=team, name="Hero")
    text = json.dumps([{"style": "free", "preset_name": "New"}, {"style": "free", "preset_name": "hero"}])
    response = import_text(member_client, text)
    assert "instruction #2, preset_name: The library already has a preset called “hero”." in response.text
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
    assert all("instruction #1, preset_name: The library already has a preset" in r.text for r in refused)
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
    assert "instruction #10, style: is required" in response.text
    assert "instruction #11" not in response.text
    # The pasted text comes back for editing (at most the cap); the errors add little to it.
    assert len(response.content) < len(text) + 20_000
    assert nothing_stored(team)


# ---------------------------------------------------------------- rows stored before the text rule


@pytest.fixture
def repair():
    """The data migration's function, run against the current database."""
    migration = importlib.import_module("packshots.migrations.0003_repair_lone_surrogates")
    return lambda: migration.repair_lone_surrogates(django_apps, SimpleNamespace(connection=connection))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite ever stored lone surrogates")
def test_stored_lone_surrogates_are_repaired_so_every_page_shows_again(member_client, team, member, repair):
    preset = factories.make_preset(team=team, name="Summer")
    job = factories.make_job(team=team, status=Job.Status.COMPLETED)
    # As the old import left them: written past validation, straight into the JSON columns.
    Preset.objects.filter(pk=preset.pk).update(
        categories=["Sum\ud800mer"],
        instruction={"style": "free", "prompt": "\udc00", "surface": {"text": "o\ud800k"}},
    )
    Job.objects.filter(pk=job.pk).update(
        request={**job.request, "instructions": [{"style": "free", "prompt": "\ud800"}]}
    )
    pages = [
        reverse("packshots:preset-list"),
        reverse("packshots:preset-export"),
        reverse("packshots:job-detail", args=[job.pk]),
        reverse("packshots:job-instructions", args=[job.pk]),
    ]
    with pytest.raises(UnicodeEncodeError):  # what every member saw: a 500
        member_client.get(pages[0])

    repair()
    repair()  # idempotent

    preset.refresh_from_db()
    assert preset.categories == ["Sum\ufffdmer"]
    assert preset.instruction == {"style": "free", "prompt": "\ufffd", "surface": {"text": "o\ufffdk"}}
    for url in pages:
        assert member_client.get(url).status_code == 200
    # Saving it again asks for the damaged spot to be retyped.
    data = {"name": "Summer", "categories": "Sum\ufffdmer", "style": "free", "num_variations": "1"}
    response = member_client.post(reverse("packshots:preset-edit", args=[preset.pk]), data)
    assert "could not be decoded (U+FFFD); retype the text" in response.text


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite ever stored lone surrogates")
def test_the_admin_shows_a_stored_surrogate_escaped_instead_of_failing(client, team):
    admin = factories.make_user("root@example.com", team=team, role="owner")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    preset = factories.make_preset(team=team, name="Summer")
    Preset.objects.filter(pk=preset.pk).update(categories=["Sum\ud800mer"])
    response = client.get(reverse("admin:packshots_preset_change", args=[preset.pk]))
    assert response.status_code == 200
    assert "Sum\\ud800mer" in response.text  # escaped as JSON writes it; saving it again is refused
