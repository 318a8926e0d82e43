"""Bad-input corpus (issue 10): every text and numeric field of every form and JSON input, hostile values.

Each case asserts a clear error on the page, nothing stored (rows, drafts' requests, notes and stored files
compared before and after) and never a 500 (the test client raises on one). Runs on SQLite and PostgreSQL.
File fields themselves (photos) are covered by the upload tests; instructions JSON *files* are here.
"""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from packshots.models import Job, Preset, Project, Upload
from tests import factories

HX = {"HX-Request": "true"}
HTML = '<script>alert("x")</script>'

# Forms: a lone surrogate cannot travel as UTF-8, so a hostile client sends its WTF-8 bytes (ED A0 80); Django
# decodes those as U+FFFD, which is what a form field gets of it.
FORM_TEXT = {
    "surrogate": ("Sum\ud800mer", "contains a character that could not be decoded (U+FFFD)"),
    "nul": ("a\x00b", "contains a character that cannot be stored (U+0000)"),
    "control": ("\x1b[31mred", "contains a control character (U+001B)"),
    "1 MB": ("x" * 1_000_000, "characters (got 1000000)"),
}
NUMBERS = {"junk": "abc", "huge": "9" * 30, "negative": "-5", "float": "1.5"}
WHOLE = "Enter a whole number."


def snapshot() -> dict:
    """Everything a request could have stored: rows, the drafts' requests, notes, files in storage."""
    media = Path(settings.MEDIA_ROOT)
    return {
        "projects": list(Project.objects.order_by("pk").values_list("pk", "name", "description")),
        "presets": list(Preset.objects.order_by("pk").values_list("pk", "name", "instruction", "categories")),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "engine", "request")),
        "uploads": list(Upload.objects.order_by("pk").values_list("pk", "note", "order")),
        "files": sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else [],
    }


def post_form(client, url: str, data: dict):
    """POST urlencoded, each value as its UTF-8 bytes (a lone surrogate as WTF-8, as a raw client would)."""
    body = "&".join(f"{quote(k)}={quote(str(v).encode('utf-8', 'surrogatepass'))}" for k, v in data.items())
    return client.post(url, body, content_type="application/x-www-form-urlencoded", headers=HX)


# ---------------------------------------------------------------- the forms and their fields


def _project(team, member):
    return reverse("packshots:project-list"), {"name": "Autumn", "description": ""}, ""


def _preset_create(team, member):
    return reverse("packshots:preset-create"), {"name": "Hero", "style": "free", "num_variations": "1"}, ""


def _preset_edit(team, member):
    preset = factories.make_preset(team=team)
    data = {"name": preset.name, "style": "white_cutout", "num_variations": "1"}
    return reverse("packshots:preset-edit", args=[preset.pk]), data, ""


def _wizard_custom(team, member):
    job = factories.make_draft(team=team, user=member, photos=0, instructions=[factories.WHITE_CUTOUT])
    data = {"action": "custom", "custom-style": "free", "custom-num_variations": "1"}
    return reverse("packshots:wizard-instructions", args=[job.pk]), data, "custom-"


def _wizard_edit(team, member):
    url, data, prefix = _wizard_custom(team, member)
    return url, {**data, "custom-replace": "0"}, prefix


def _upload_note(team, member):
    upload = factories.make_draft(team=team, user=member, photos=1).uploads.get()
    return reverse("packshots:upload-note", args=[upload.pk]), {"note": ""}, ""


def _review(team, member):
    job = factories.make_draft(team=team, user=member, photos=1, instructions=[factories.WHITE_CUTOUT])
    data = {"engine": "local", "model": "auto", "use_anchor": "on", "anchor_index": "0"}
    return reverse("packshots:wizard-review", args=[job.pk]), data, ""


DESIGN = ["background", "surface", "color_palette", "composition", "props", "lighting"]
TEXT_FIELDS = [
    (_project, "name"),
    (_project, "description"),
    *[(_preset_create, f) for f in ["name", "categories", *DESIGN, "prompt"]],
    *[(_preset_edit, f) for f in ["name", "categories", "prompt"]],
    *[(_wizard_custom, f) for f in [*DESIGN, "prompt", "share_as"]],
    (_wizard_edit, "prompt"),
    (_upload_note, "note"),
]


def _case_id(value) -> str:
    return value.__name__.strip("_") if callable(value) else str(value)


@pytest.mark.parametrize("kind", FORM_TEXT)
@pytest.mark.parametrize(("form", "field"), TEXT_FIELDS, ids=_case_id)
def test_hostile_text_in_a_form_field_is_an_error_next_to_it_and_stores_nothing(
    member_client, team, member, form, field, kind
):
    url, data, prefix = form(team, member)
    value, message = FORM_TEXT[kind]
    before = snapshot()
    response = post_form(member_client, url, {**data, prefix + field: value})
    assert response.status_code == 200
    assert message in response.text
    assert len(response.content) < 100_000  # a 1 MB value comes back cut to the field's limit
    assert snapshot() == before


@pytest.mark.parametrize("kind", FORM_TEXT)
def test_hostile_text_in_a_new_photos_note_is_refused_and_no_photo_is_kept(member_client, team, member, kind):
    job = factories.make_draft(team=team, user=member, photos=0)
    value, message = FORM_TEXT[kind]
    before = snapshot()
    # Multipart by hand: the test client would not send a surrogate's bytes as they are.
    photo = b'Content-Disposition: form-data; name="photos"; filename="front.jpg"\r\n'
    photo += b"Content-Type: image/jpeg\r\n\r\n" + factories.photo_bytes()
    note = b'Content-Disposition: form-data; name="note"\r\n\r\n' + value.encode("utf-8", "surrogatepass")
    body = b"".join(b"--B0undary\r\n" + part + b"\r\n" for part in (photo, note)) + b"--B0undary--\r\n"
    response = member_client.post(
        reverse("packshots:wizard-photos", args=[job.pk]),
        body,
        content_type="multipart/form-data; boundary=B0undary",
        headers=HX,
    )
    assert response.status_code == 200 and message in response.text
    assert snapshot() == before


@pytest.mark.parametrize(("form", "field"), TEXT_FIELDS, ids=_case_id)
def test_html_in_a_form_field_is_kept_as_text_and_never_rendered_as_markup(
    member_client, team, member, form, field
):
    url, data, prefix = form(team, member)
    response = post_form(member_client, url, {**data, prefix + field: HTML})
    assert response.status_code in (200, 302)
    pages = [response] + [
        member_client.get(reverse(name)) for name in ("packshots:project-list", "packshots:preset-list")
    ]
    for page in pages:
        assert HTML not in page.text


NUMERIC_FIELDS = {
    # (form, field): {kind: message}; the wizard's custom form and the preset form share these fields.
    **{
        (form, "seed"): {"huge": "must be 0–2147483647", "negative": "must be 0–2147483647"}
        for form in (_preset_create, _wizard_custom)
    },
    **{
        (form, "num_variations"): {"huge": "must be 1–8", "negative": "must be 1–8"}
        for form in (_preset_create, _wizard_custom)
    },
    **{
        (form, side): {"huge": "must be 256–7000", "negative": "must be 256–7000"}
        for form in (_preset_create, _wizard_custom)
        for side in ("width", "height")
    },
    (_wizard_edit, "replace"): {
        kind: "no longer in this job" for kind in ("junk", "huge", "negative", "float")
    },
    (_review, "anchor_index"): {
        "huge": "must satisfy 0 ≤ anchor_index &lt; 1",
        "negative": "Ensure this value is greater than or equal to 0.",
    },
}


@pytest.mark.parametrize("kind", NUMBERS)
@pytest.mark.parametrize(("form", "field"), NUMERIC_FIELDS, ids=_case_id)
def test_a_bad_number_in_a_form_field_is_a_clear_error_and_stores_nothing(
    member_client, team, member, form, field, kind
):
    url, data, prefix = form(team, member)
    other_side = {"width": "height", "height": "width"}.get(field)
    if other_side:
        data[prefix + other_side] = "1024"  # so the error is about this side, not about a missing partner
    before = snapshot()
    response = post_form(member_client, url, {**data, prefix + field: NUMBERS[kind]})
    assert response.status_code == 200
    assert NUMERIC_FIELDS[(form, field)].get(kind, WHOLE) in response.text
    assert snapshot() == before


# ---------------------------------------------------------------- instructions JSON: pasted or uploaded


@pytest.fixture
def draft(team, member):
    """A draft job whose wizard receives the documents (made before the test takes its snapshot)."""
    return factories.make_draft(team=team, user=member, photos=0)


def post_json(client, draft, where: str, document: object):
    """Send an instructions document through one of the four JSON inputs."""
    text = document if isinstance(document, str) else json.dumps(document)
    if where.endswith("file"):
        fields = {"json_file": SimpleUploadedFile("instructions.json", text.encode(), "application/json")}
    else:
        fields = {"json_text": text}
    if where.startswith("wizard"):
        url = reverse("packshots:wizard-instructions", args=[draft.pk])
        data = {"action": "json", **{f"json-{name}": value for name, value in fields.items()}}
    else:
        url, data = reverse("packshots:preset-import"), fields
    return client.post(url, data, headers=HX)


JSON_INPUTS = ["wizard-text", "wizard-file", "import-text", "import-file"]


def _place(path: str, value: object) -> dict:
    """An otherwise valid instruction with `value` at `path` ("background.text", "category_names[0]", ...)."""
    instruction: dict = {"style": "free"}
    if path == "key":
        return {**instruction, value: 1}
    if path.endswith("[0]"):
        return {**instruction, path[:-3]: [value]}
    head, _, tail = path.partition(".")
    instruction[head] = {tail: value} if tail else value
    return instruction


TEXT_PATHS = [
    "prompt",
    "background",
    "background.text",
    "surface.image",
    "lighting.quality",
    "preset_name",
    "category_names[0]",
]
ENUM_PATHS = ["style", "framing", "angle", "shadow", "options.size", "options.ar", "options.format"]
JSON_TEXT = {
    "surrogate": ("Sum\ud800mer", "contains a character that cannot be stored (U+D800)"),
    "nul": ("a\x00b", "contains a character that cannot be stored (U+0000)"),
    "control": ("\x1b[31m", "contains a control character (U+001B)"),
    "100 KB": ("x" * 100_000, "must be at most"),
}


@pytest.mark.parametrize("kind", JSON_TEXT)
@pytest.mark.parametrize("path", TEXT_PATHS + ENUM_PATHS + ["key"])
@pytest.mark.parametrize("where", JSON_INPUTS)
def test_hostile_text_anywhere_in_an_instructions_document_is_reported_by_path(
    member_client, draft, where, path, kind
):
    value, message = JSON_TEXT[kind]
    before = snapshot()
    response = post_json(member_client, draft, where, [_place(path, value)])
    assert response.status_code == 200
    if path in TEXT_PATHS:
        assert f"instruction #1, {path}: {message}" in response.text
    elif path == "key":
        assert "instruction #1: unknown field" in response.text
    else:
        assert f"instruction #1, {path}: " in response.text and " is not a" in response.text
    assert len(response.content) < 100_000 + 20_000  # values are quoted short; the pasted text may come back
    assert snapshot() == before


@pytest.mark.parametrize("where", JSON_INPUTS)
def test_a_one_megabyte_string_in_a_document_hits_the_size_cap(member_client, draft, where):
    before = snapshot()
    response = post_json(member_client, draft, where, [{"style": "free", "prompt": "p" * 1_000_000}])
    assert response.status_code == 200
    assert ("the limit is 512 KB" in response.text) or ("larger than 512 KB" in response.text)
    assert len(response.content) < 50_000
    assert snapshot() == before


JSON_NUMBERS = {"junk": "abc", "huge": 10**30, "negative": -5, "float": 1.5, "infinite": "1e400"}
NUMERIC_PATHS = {
    "seed": "must be 0–2147483647",
    "num_variations": "must be 1–8",
    "options.width": "must be 256–7000",
    "options.height": "must be 256–7000",
    "options.seed": "must be 0–2147483647",
}


@pytest.mark.parametrize("kind", JSON_NUMBERS)
@pytest.mark.parametrize("path", NUMERIC_PATHS)
@pytest.mark.parametrize("where", ["wizard-text", "import-text"])
def test_a_bad_number_in_an_instructions_document_is_reported_by_path(
    member_client, draft, where, path, kind
):
    instruction = _place(path, "PLACEHOLDER")
    if path in ("options.width", "options.height"):
        instruction["options"]["height" if path.endswith("width") else "width"] = 1024
    # 1e400 is a JSON number that Python reads as infinity: written into the text by hand.
    raw = JSON_NUMBERS[kind]
    text = json.dumps([instruction]).replace('"PLACEHOLDER"', raw if kind == "infinite" else json.dumps(raw))
    before = snapshot()
    response = post_json(member_client, draft, where, text)
    expected = NUMERIC_PATHS[path] if kind in ("huge", "negative") else "must be a whole number"
    assert f"instruction #1, {path}: {expected}" in response.text
    assert snapshot() == before


@pytest.mark.parametrize("value", [-5, 10**30])
def test_a_bad_design_value_index_is_reported(member_client, draft, value):
    before = snapshot()
    response = post_json(member_client, draft, "import-text", [{"style": "free", "background": value}])
    assert "instruction #1, background: a Design Value index must be" in response.text
    assert snapshot() == before


def test_html_in_an_imported_preset_is_kept_as_text_and_shown_escaped(member_client, draft):
    document = [{"style": "free", "preset_name": HTML, "prompt": HTML, "category_names": [HTML]}]
    post_json(member_client, draft, "import-text", document)
    assert Preset.objects.get().name == HTML
    for name in ("packshots:preset-list", "packshots:preset-export"):
        response = member_client.get(reverse(name))
        assert response.status_code == 200
        if name == "packshots:preset-list":
            assert HTML not in response.text and "&lt;script&gt;" in response.text


# ---------------------------------------------------------------- team switch (issue 10, finding 5)


@pytest.mark.parametrize("value", ["abc", "", "1.5", "9" * 23, "-1", "0", "1e3", "a\x00"])
def test_a_malformed_team_id_is_a_message_not_a_500(member_client, team, value):
    before = member_client.session.get(SESSION_KEY)
    response = post_form(member_client, reverse("accounts:team-switch"), {"team": value})
    assert response.status_code == 302 and response["Location"] == reverse("packshots:project-list")
    page = member_client.get(response["Location"])
    assert "Choose one of your teams from the list." in page.text
    assert member_client.session.get(SESSION_KEY, before) in (before, team.pk)


def test_a_team_the_user_is_not_in_is_a_404(member_client, team, other_team):
    response = member_client.post(reverse("accounts:team-switch"), {"team": str(other_team.pk)})
    assert response.status_code == 404
    assert member_client.session.get(SESSION_KEY) != other_team.pk


# ---------------------------------------------------------------- the command line


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "garment"
    folder.mkdir()
    (folder / "front.jpg").write_bytes(factories.photo_bytes())
    return folder


# What argv gives Python for bytes that are not UTF-8 (surrogateescape): a lone surrogate.
def create_packshot(folder: Path, out: Path, *args: str) -> None:
    call_command("create_packshot", "--input-folder", str(folder), "--output-folder", str(out), *args)


CLI_TEXT = {
    "surrogate": ("Sum\udcffmer", "U+DCFF"),
    "nul": ("a\x00b", "U+0000"),
    "control": ("\x1b[31m", "U+001B"),
}


@pytest.mark.parametrize("kind", CLI_TEXT)
@pytest.mark.parametrize(
    ("flag", "where"),
    [
        ("--prompt", "instruction #1, prompt"),
        ("--background", "instruction #1, background"),
        ("--surface", "instruction #1, surface"),
        ("--image-notes", "image #1, note"),
        ("--project", "--project"),
        ("--team", "--team"),
        ("--user", "--user"),
    ],
)
def test_hostile_text_on_the_command_line_is_refused_before_anything_is_stored(
    team, member, photo_folder, tmp_path, flag, where, kind
):
    value, code = CLI_TEXT[kind]
    before = snapshot()
    with pytest.raises(CommandError) as info:
        create_packshot(photo_folder, tmp_path, flag, value)
    assert f"{where}: " in str(info.value) and f"({code})" in str(info.value)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--num-variations", str(10**30)], "instruction #1, num_variations: must be 1–8"),
        (["--num-variations", "-5"], "instruction #1, num_variations: must be 1–8"),
        (["--seed", "-5"], "instruction #1, seed: must be 0–2147483647"),
        (["--seed", "1.5"], "invalid int value"),
        (["--anchor-index", "abc"], "invalid int value"),
    ],
)
def test_a_bad_number_on_the_command_line_is_refused(team, member, photo_folder, tmp_path, args, message):
    before = snapshot()
    with pytest.raises(CommandError) as info:
        create_packshot(photo_folder, tmp_path, *args)
    assert message in str(info.value)
    assert snapshot() == before


# ---------------------------------------------------------------- the admin


@pytest.fixture
def admin_client(client, team):
    admin = factories.make_user("root@example.com", team=team, role="owner")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


ADMIN_CASES = [
    ("preset", {"name": "Ri\x07ng"}, "contains a control character (U+0007)"),
    (
        "preset",
        {"categories": '["Sum\\ud800mer"]'},
        "[0]: contains a character that cannot be stored (U+D800)",
    ),
    ("preset", {"instruction": '{"style": "free", "prompt": "\\u0000"}'}, "cannot be stored (U+0000)"),
    ("project", {"name": "Aut\x1bumn"}, "contains a control character (U+001B)"),
    ("project", {"description": "a\x00b"}, "Null characters are not allowed."),  # Django's own check
]


@pytest.mark.parametrize(("model", "fields", "message"), ADMIN_CASES)
def test_the_admin_applies_the_same_text_rule(admin_client, team, model, fields, message):
    base = {
        "preset": {"team": team.pk, "name": "Hero", "categories": "[]", "instruction": '{"style": "free"}'},
        "project": {
            "team": team.pk,
            "name": "Autumn",
            "description": "",
            "created_by": team.memberships.first().user_id,
        },
    }[model]
    before = snapshot()
    response = post_form(admin_client, reverse(f"admin:packshots_{model}_add"), {**base, **fields})
    assert response.status_code == 200
    assert message in response.text
    assert snapshot() == before
