import json
from pathlib import Path

import pytest

from packshots import instructions as ins
from packshots.instructions import (
    InstructionsError,
    credit_cost,
    describe_instruction,
    design_text,
    dump_instructions,
    effective_shadow,
    load_instructions,
    normalize_instruction,
    output_credits,
    output_format,
    output_size,
    total_outputs,
    validate_instruction,
    validate_job,
)

EXAMPLE_PATH = Path(__file__).parent / "fixtures" / "example_instructions.json"


def example() -> list[dict]:
    return load_instructions(EXAMPLE_PATH.read_bytes())


def with_options(**options) -> dict:
    return {"style": "ghost_mannequin", "options": options}


def style_taking(field: str) -> str:
    """A style `field` applies to: its own for a style-only field, "free" for the others."""
    return ins.STYLE_ONLY_FIELDS.get(field, ("free",))[0]


# --- validate_instruction: valid input ---


def test_example_file_instructions_are_valid():
    assert validate_job(instructions=example(), images=["img_1"]) == {}


@pytest.mark.parametrize("style", ins.STYLES)
def test_every_style_alone_is_a_valid_instruction(style):
    assert validate_instruction({"style": style}) == {}


def test_instruction_using_every_field_is_valid():
    instruction = {
        "style": "marketing_ready",
        "background": "white studio",
        "composition": 3,
        "props": {"text": "dried flowers", "image": "file_123"},
        "color_palette": "earth tones",
        "lighting": {"text": "soft", "direction": "left", "quality": "diffuse", "complexity": "simple"},
        "framing": "full_frame",
        "angle": "detail_macro",
        "shadow": "none",
        "prompt": "p" * ins.MAX_PROMPT_LENGTH,
        "seed": 2**31 - 1,
        "num_variations": 8,
        "preset_name": "Summer PDP",
        "category_names": ["tops", "summer"],
        "options": {"size": "4K", "ar": "16:9", "format": "png", "width": 7000, "height": 1752, "seed": 0},
    }
    assert validate_instruction(instruction) == {}
    # surface is the one field marketing_ready does not take: it is flat_lay's
    assert validate_instruction({"style": "flat_lay", "surface": {"image": "file_456"}}) == {}


@pytest.mark.parametrize("num_variations", [1, 8])
def test_num_variations_bounds_are_accepted(num_variations):
    assert validate_instruction({"style": "free", "num_variations": num_variations}) == {}


@pytest.mark.parametrize("angle", ["front", "back", "three_quarter", "detail_macro"])
def test_flat_lay_with_another_angle_is_not_an_error(angle):
    assert validate_instruction({"style": "flat_lay", "angle": angle}) == {}


@pytest.mark.parametrize(("width", "height"), [(256, 1024), (1024, 256), (7000, 7000), (1200, 1600)])
def test_custom_sizes_within_limits_are_accepted(width, height):
    assert validate_instruction(with_options(width=width, height=height)) == {}


# --- validate_instruction: each bad input gives one specific error under its path ---

BAD_INSTRUCTIONS = [
    # (instruction, error key, exact message)
    ({}, "style", "is required; use flat_lay, ghost_mannequin, marketing_ready, white_cutout or free"),
    (
        {"style": "catalog"},
        "style",
        "'catalog' is not a style; use flat_lay, ghost_mannequin, marketing_ready, white_cutout or free",
    ),
    (
        {"style": "free", "framing": "portrait"},
        "framing",
        "'portrait' is not a framing; use square_packshot, tall_3_4, wide_4_3 or full_frame",
    ),
    (
        {"style": "free", "angle": "side"},
        "angle",
        "'side' is not an angle; use front, back, three_quarter, top_down or detail_macro",
    ),
    (
        {"style": "free", "shadow": "hard"},
        "shadow",
        "'hard' is not a shadow; use auto, none, contact, soft_drop or natural",
    ),
    ({"style": "free", "colour": "red"}, "instruction", "unknown field 'colour'"),
    ({"style": "free", "num_variations": 0}, "num_variations", "must be 1–8"),
    ({"style": "free", "num_variations": 9}, "num_variations", "must be 1–8"),
    ({"style": "free", "num_variations": True}, "num_variations", "must be a whole number"),
    ({"style": "free", "num_variations": "3"}, "num_variations", "must be a whole number"),
    ({"style": "free", "seed": -1}, "seed", "must be 0–2147483647"),
    ({"style": "free", "seed": 2**31}, "seed", "must be 0–2147483647"),
    ({"style": "free", "seed": False}, "seed", "must be a whole number"),
    ({"style": "free", "prompt": "p" * 2001}, "prompt", "must be at most 2000 characters (got 2001)"),
    ({"style": "free", "prompt": 5}, "prompt", "must be a string"),
    ({"style": "free", "preset_name": "n" * 201}, "preset_name", "must be at most 200 characters (got 201)"),
    ({"style": "free", "category_names": "tops"}, "category_names", "must be a list of strings"),
    ({"style": "free", "category_names": ["tops", 3]}, "category_names", "must be a list of strings"),
    ({"style": "free", "options": "2K"}, "options", "must be an object"),
]

BAD_DESIGN_VALUES = [
    # (value, where inside the field the error points, message)
    ("b" * 1001, "", "must be at most 1000 characters (got 1001)"),
    (-1, "", "a Design Value index must be 0 or more"),
    (10**30, "", "a Design Value index must be at most 2147483647"),
    (True, "", "must be text, a Design Value index or an object with text and/or image"),
    (1.5, "", "must be text, a Design Value index or an object with text and/or image"),
    (None, "", "must be text, a Design Value index or an object with text and/or image"),
    (["white"], "", "must be text, a Design Value index or an object with text and/or image"),
    ({"text": 3}, ".text", "must be a string"),
    ({"text": "t" * 1001}, ".text", "must be at most 1000 characters (got 1001)"),
    ({"image": 7}, ".image", "must be a string"),
    ({"text": "ok", "image": "a\ud800"}, ".image", "contains a character that cannot be stored (U+D800)"),
]

BAD_OPTIONS = [
    ({"size": "huge"}, "options.size", "'huge' is not a size; use 1K, 2K or 4K"),
    ({"ar": "2:3"}, "options.ar", "'2:3' is not an aspect ratio; use 1:1, 3:4, 4:3, 9:16 or 16:9"),
    ({"format": "webp"}, "options.format", "'webp' is not a format; use jpg or png"),
    ({"dpi": 300}, "options", "unknown field 'dpi'"),
    ({"seed": True}, "options.seed", "must be a whole number"),
    ({"width": 1000}, "options", "width and height must be set together"),
    ({"height": 1000}, "options", "width and height must be set together"),
    ({"width": 1004, "height": 1000}, "options.width", "must be a multiple of 8"),
    ({"width": 1000, "height": 1004}, "options.height", "must be a multiple of 8"),
    ({"width": 248, "height": 256}, "options.width", "must be 256–7000"),
    ({"width": 7008, "height": 7000}, "options.width", "must be 256–7000"),
    ({"width": 1000.0, "height": 1000}, "options.width", "must be a whole number"),
    ({"width": True, "height": 1000}, "options.width", "must be a whole number"),
    ({"width": 4104, "height": 1024}, "options", "aspect ratio must be between 1:4 and 4:1"),
    ({"width": 256, "height": 1032}, "options", "aspect ratio must be between 1:4 and 4:1"),
]


@pytest.mark.parametrize(("instruction", "key", "message"), BAD_INSTRUCTIONS)
def test_bad_instruction_field_is_reported_under_its_key(instruction, key, message):
    assert validate_instruction(instruction) == {key: [message]}


@pytest.mark.parametrize("field", ins.DESIGN_FIELDS)
@pytest.mark.parametrize(("value", "suffix", "message"), BAD_DESIGN_VALUES)
def test_bad_design_value_is_reported_under_its_field(field, value, suffix, message):
    assert validate_instruction({"style": style_taking(field), field: value}) == {field + suffix: [message]}


@pytest.mark.parametrize("field", [field for field in ins.DESIGN_FIELDS if field != "lighting"])
def test_design_object_takes_only_text_and_image(field):
    style = style_taking(field)
    assert validate_instruction({"style": style, field: {"direction": "left"}}) == {
        field: ["unknown key 'direction'; use text or image"]
    }
    assert validate_instruction({"style": style, field: {}}) == {
        field: ["must have at least one of text or image"]
    }


def test_lighting_object_also_takes_direction_quality_and_complexity():
    lighting = {"direction": "left", "quality": "soft", "complexity": "simple"}
    assert validate_instruction({"style": "free", "lighting": lighting}) == {}
    assert validate_instruction({"style": "free", "lighting": {"colour": "warm"}}) == {
        "lighting": ["unknown key 'colour'; use text, image, direction, quality or complexity"]
    }
    assert validate_instruction({"style": "free", "lighting": {"quality": 2}}) == {
        "lighting.quality": ["must be a string"]
    }


STYLE_ONLY_VALUES = ["oak", 3, {"text": "oak"}, {"image": "file_1"}, ["oak"], None]


@pytest.mark.parametrize("value", STYLE_ONLY_VALUES, ids=repr)
def test_a_surface_outside_flat_lay_is_refused_whatever_its_value(value):
    # Text, an index, an object or a wrong type: the same message under the field, never dropped unseen.
    errors = validate_job(instructions=[{"style": "free"}, {"style": "ghost_mannequin", "surface": value}])
    message = "Surface applies only to Flat lay: clear it or choose that style."
    assert message in errors["instructions[1].surface"] and set(errors) == {"instructions[1].surface"}


@pytest.mark.parametrize("field", ["props", "color_palette"])
def test_props_and_a_palette_are_taken_from_files_under_any_style_as_piktid_takes_them(field):
    # PiktID reads them for any style ("meaningful mainly for marketing_ready"); only the forms keep them
    # to marketing_ready.
    assert validate_instruction({"style": "ghost_mannequin", field: {"text": "earth tones"}}) == {}


def test_an_empty_text_in_a_field_of_another_style_asks_for_nothing():
    assert validate_instruction({"style": "ghost_mannequin", "surface": ""}) == {}


def test_design_value_index_zero_is_accepted():
    assert validate_instruction({"style": "free", "background": 0}) == {}


@pytest.mark.parametrize(("options", "key", "message"), BAD_OPTIONS)
def test_bad_output_option_is_reported_under_its_key(options, key, message):
    assert validate_instruction(with_options(**options)) == {key: [message]}


def test_instruction_that_is_not_an_object_is_rejected():
    assert validate_instruction(["style", "free"]) == {"instruction": ["must be an object"]}


def test_error_keys_are_prefixed_with_the_path():
    instruction = {
        "style": "free",
        "num_variations": 9,
        "colour": 1,
        "options": {"width": 1000, "height": 1004},
    }
    assert validate_instruction(instruction, path="instructions[1].") == {
        "instructions[1].num_variations": ["must be 1–8"],
        "instructions[1]": ["unknown field 'colour'"],
        "instructions[1].options.height": ["must be a multiple of 8"],
    }


def test_several_problems_are_all_reported():
    errors = validate_instruction({"style": "nope", "angle": "up", "num_variations": 0})
    assert set(errors) == {"style", "angle", "num_variations"}


# --- validate_job ---


def job_errors(**overrides) -> dict[str, list[str]]:
    arguments = {"instructions": [{"style": "free"}], "images": ["img_1"]} | overrides
    return validate_job(**arguments)


def test_valid_job_with_every_option_has_no_errors():
    images = ["img_1", {"file_id": "img_2"}, {"file_id": "img_3", "note": "back view"}]
    options = {"model": "nano_banana_pro", "use_anchor": True, "anchor_index": 1}
    instructions = [{"style": "free"}, {"style": "flat_lay"}]
    assert validate_job(instructions=instructions, images=images, options=options, post_process=True) == {}


def test_images_none_are_not_checked():
    assert validate_job(instructions=[{"style": "free"}]) == {}


@pytest.mark.parametrize(
    ("instructions", "message"),
    [
        ({"style": "free"}, "must be a list of instructions"),
        ([], "need 1–10 instructions (got 0)"),
        ([{"style": "free"}] * 11, "need 1–10 instructions (got 11)"),
    ],
)
def test_instruction_list_of_wrong_shape_or_count_is_rejected(instructions, message):
    assert job_errors(instructions=instructions) == {"instructions": [message]}


def test_ten_instructions_are_accepted():
    assert job_errors(instructions=[{"style": "free"}] * 10) == {}


def test_instruction_errors_are_keyed_by_their_index():
    errors = job_errors(instructions=[{"style": "free"}, {"style": "free", "num_variations": 9}])
    assert errors == {"instructions[1].num_variations": ["must be 1–8"]}


@pytest.mark.parametrize(
    ("count", "message"), [(0, "need 1–10 images (got 0)"), (11, "need 1–10 images (got 11)")]
)
def test_image_count_outside_one_to_ten_is_rejected(count, message):
    assert job_errors(images=[f"img_{i}" for i in range(count)]) == {"images": [message]}


def test_ten_images_are_accepted():
    assert job_errors(images=[f"img_{i}" for i in range(10)]) == {}


@pytest.mark.parametrize(
    ("image", "key", "message"),
    [
        ("", "images[0]", "needs a non-empty file id"),
        ({"note": "front"}, "images[0]", "needs a non-empty file id"),
        ({"file_id": 7}, "images[0]", "needs a non-empty file id"),
        ({"file_id": "img", "note": 5}, "images[0].note", "must be a string"),
        ({"file_id": "img", "note": "n" * 501}, "images[0].note", "must be at most 500 characters (got 501)"),
        ({"file_id": "img", "caption": "x"}, "images[0]", "unknown field 'caption'"),
        (42, "images[0]", 'must be a file id or {"file_id": ..., "note": ...}'),
    ],
)
def test_bad_image_item_is_reported_under_its_index(image, key, message):
    assert job_errors(images=[image]) == {key: [message]}


def test_images_that_are_not_a_list_are_rejected():
    assert job_errors(images="img_1") == {"images": ["must be a list of file ids"]}


def test_note_of_maximum_length_is_accepted():
    assert job_errors(images=[{"file_id": "img", "note": "n" * 500}]) == {}


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        (
            {"model": "dall_e"},
            "options.model",
            "'dall_e' is not a model; use auto, nano_banana_2, nano_banana_pro, seedream or gpt_image",
        ),
        ({"use_anchor": "yes"}, "options.use_anchor", "must be true or false"),
        ({"anchor_index": 2}, "options.anchor_index", "must satisfy 0 ≤ anchor_index < 2"),
        ({"anchor_index": -1}, "options.anchor_index", "must satisfy 0 ≤ anchor_index < 2"),
        ({"anchor_index": True}, "options.anchor_index", "must be a whole number"),
        ({"anchor": 0}, "options", "unknown field 'anchor'"),
        ("auto", "options", "must be an object"),
    ],
)
def test_bad_generation_option_is_reported(options, key, message):
    instructions = [{"style": "free"}, {"style": "free"}]
    assert job_errors(instructions=instructions, options=options) == {key: [message]}


def test_anchor_index_is_only_type_checked_when_instructions_are_invalid():
    errors = job_errors(instructions="nope", options={"anchor_index": 3})
    assert errors == {"instructions": ["must be a list of instructions"]}


@pytest.mark.parametrize("post_process", [1, "true", None])
def test_post_process_must_be_a_bool(post_process):
    assert job_errors(post_process=post_process) == {"post_process": ["must be true or false"]}


# --- InstructionsError ---


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("instructions[0]", "instruction #1"),
        ("instructions[1].num_variations", "instruction #2, num_variations"),
        ("instructions[9].options.width", "instruction #10, options.width"),
        ("instructions[0].category_names[1]", "instruction #1, category_names[1]"),
        ("images[2].note", "image #3, note"),
        ("instructions", "instructions"),
        ("options.width", "options.width"),
    ],
)
def test_error_labels_count_rows_from_one_as_the_pages_do(key, label):
    assert ins.error_label(key) == label


def test_instructions_error_names_rows_from_one():
    error = InstructionsError({"instructions[1].seed": ["must be 0–2147483647"]})
    assert str(error) == "instruction #2, seed: must be 0–2147483647"
    assert error.errors == {"instructions[1].seed": ["must be 0–2147483647"]}  # paths stay 0-based inside


def test_instructions_error_joins_field_messages():
    error = InstructionsError({"style": ["is required"], "options.width": ["a", "b"]})
    assert str(error) == "style: is required; options.width: a; options.width: b"
    assert error.errors == {"style": ["is required"], "options.width": ["a", "b"]}
    assert isinstance(error, ValueError)


# --- normalize_instruction ---


def test_flat_lay_forces_top_down():
    original = {"style": "flat_lay", "angle": "front", "surface": "linen"}
    assert normalize_instruction(original) == {"style": "flat_lay", "angle": "top_down", "surface": "linen"}


def test_flat_lay_without_angle_gets_top_down():
    assert normalize_instruction({"style": "flat_lay"}) == {"style": "flat_lay", "angle": "top_down"}


def test_other_styles_are_left_unchanged():
    instruction = {"style": "ghost_mannequin", "angle": "back", "options": {"size": "2K"}}
    assert normalize_instruction(instruction) == instruction


def test_normalize_returns_a_deep_copy():
    original = {"style": "flat_lay", "options": {"size": "2K"}}
    normalized = normalize_instruction(original)
    normalized["options"]["size"] = "4K"
    assert original == {"style": "flat_lay", "options": {"size": "2K"}}


# --- outputs and credits ---


def test_example_file_has_four_outputs_costing_twenty_credits():
    assert total_outputs(example()) == 4
    assert credit_cost(example()) == 20


def test_num_variations_defaults_to_one():
    assert total_outputs([{"style": "free"}, {"style": "free", "num_variations": 8}]) == 9


@pytest.mark.parametrize(("size", "credits"), [("1K", 3), ("2K", 5), ("4K", 10)])
def test_output_credits_follow_the_size_tier(size, credits):
    assert output_credits(with_options(size=size)) == credits


def test_output_without_size_costs_the_default_tier():
    assert output_credits({"style": "free"}) == 3


@pytest.mark.parametrize(
    ("width", "height", "credits"),
    [(1024, 768, 3), (1032, 256, 5), (1536, 2048, 5), (2056, 2056, 10), (7000, 4000, 10)],
)
def test_custom_size_costs_the_smallest_tier_covering_its_long_side(width, height, credits):
    assert output_credits(with_options(size="1K", width=width, height=height)) == credits


def test_credit_cost_multiplies_variations_by_output_credits():
    instructions = [
        {"style": "free", "num_variations": 2, "options": {"size": "4K"}},
        {"style": "free", "options": {"width": 3000, "height": 2000}},
        {"style": "free"},
    ]
    assert credit_cost(instructions) == 2 * 10 + 10 + 3


# --- output size and format ---


@pytest.mark.parametrize(
    ("instruction", "size"),
    [
        (with_options(size="2K", ar="3:4"), (1536, 2048)),
        (with_options(size="1K", ar="16:9"), (1024, 576)),
        (with_options(size="4K", ar="9:16"), (2304, 4096)),
        (with_options(size="2K", ar="4:3"), (2048, 1536)),
        ({"style": "free"}, (1024, 1024)),
        ({"style": "free", "framing": "tall_3_4"}, (768, 1024)),
        ({"style": "free", "framing": "wide_4_3", "options": {"size": "2K"}}, (2048, 1536)),
        ({"style": "free", "framing": "square_packshot"}, (1024, 1024)),
        ({"style": "free", "framing": "full_frame"}, (1024, 1024)),
        ({"style": "free", "framing": "tall_3_4", "options": {"ar": "16:9"}}, (1024, 576)),
        (with_options(size="4K", ar="1:1", width=1200, height=1600), (1200, 1600)),
    ],
)
def test_output_size(instruction, size):
    assert output_size(instruction) == size


@pytest.mark.parametrize(
    ("instruction", "fmt"),
    [({"style": "free"}, "jpg"), (with_options(format="png"), "png"), (with_options(format="jpg"), "jpg")],
)
def test_output_format_defaults_to_jpg(instruction, fmt):
    assert output_format(instruction) == fmt


# --- shadow ---


@pytest.mark.parametrize(
    ("style", "shadow"),
    [
        ("white_cutout", "contact"),
        ("ghost_mannequin", "soft_drop"),
        ("flat_lay", "natural"),
        ("marketing_ready", "natural"),
        ("free", "soft_drop"),
    ],
)
def test_missing_or_auto_shadow_resolves_to_the_style_default(style, shadow):
    assert effective_shadow({"style": style}) == shadow
    assert effective_shadow({"style": style, "shadow": "auto"}) == shadow


def test_explicit_shadow_wins_over_the_style_default():
    assert effective_shadow({"style": "white_cutout", "shadow": "none"}) == "none"


# --- design_text ---


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("white studio", "white studio"),
        ({"text": "linen", "image": "file_1"}, "linen"),
        ({"image": "file_1"}, ""),
        ({"direction": "left", "quality": "soft", "complexity": "simple"}, "left soft simple"),
        ({"quality": "soft"}, "soft"),
        ({"text": "window light", "direction": "left"}, "window light left"),
        (4, ""),
        (None, ""),
    ],
)
def test_design_text(value, text):
    assert design_text(value) == text


# --- load and dump ---


def test_example_file_round_trips_byte_for_byte():
    text = EXAMPLE_PATH.read_text(encoding="utf-8")
    assert dump_instructions(load_instructions(text)) == text


def test_load_accepts_bytes_and_keeps_key_order():
    loaded = load_instructions(EXAMPLE_PATH.read_bytes())
    assert list(loaded[0]) == [
        "style",
        "background",
        "framing",
        "angle",
        "shadow",
        "num_variations",
        "options",
    ]


def test_wrapped_document_round_trips_with_wrapped_dump():
    text = json.dumps({"instructions": example()}, indent=2) + "\n"
    loaded = load_instructions(text)
    assert loaded == example()
    assert dump_instructions(loaded, wrapped=True) == text


def test_dump_keeps_non_ascii_text_readable():
    assert '"surface": "lin à fleurs"' in dump_instructions(
        [{"style": "flat_lay", "surface": "lin à fleurs"}]
    )


def test_load_does_not_validate_instructions():
    assert load_instructions('[{"style": "nope", "colour": 1}]') == [{"style": "nope", "colour": 1}]


def test_malformed_json_reports_line_and_column():
    with pytest.raises(InstructionsError) as info:
        load_instructions('[\n  {"style": "free",}\n]')
    assert info.value.errors == {
        "instructions": [
            "not valid JSON: Expecting property name enclosed in double quotes (line 2, column 20)"
        ]
    }


def test_invalid_utf8_bytes_are_an_instructions_error():
    with pytest.raises(InstructionsError, match="not UTF-8 text"):
        load_instructions(b'[{"style": "\xff"}]')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"free"', 'expected a list or {"instructions": [...]}, not a string'),
        ("3", 'expected a list or {"instructions": [...]}, not a number'),
        ("null", 'expected a list or {"instructions": [...]}, not null'),
        ("{}", 'expected a list or {"instructions": [...]}, got {}'),
        ('{"instructions": {"style": "free"}}', '"instructions" must be a list, not an object'),
        ('{"instructions": [], "name": "x"}', "unknown field 'name'"),
    ],
)
def test_document_of_the_wrong_shape_is_rejected(text, message):
    with pytest.raises(InstructionsError) as info:
        load_instructions(text)
    assert info.value.errors == {"instructions": [message]}


# --- describe_instruction and labels ---


@pytest.mark.parametrize(
    ("instruction", "summary"),
    [
        (example()[0], "Ghost mannequin · 3 variations · 2K 3:4 JPG"),
        (example()[1], "Flat lay · 1 variation · 2K 1:1 JPG"),
        ({"style": "white_cutout"}, "White cutout · 1 variation · 1K 1:1 JPG"),
        (
            {
                "style": "free",
                "num_variations": 2,
                "options": {"width": 1200, "height": 1600, "format": "png"},
            },
            "Free · 2 variations · 1200×1600 PNG",
        ),
    ],
)
def test_describe_instruction(instruction, summary):
    assert describe_instruction(instruction) == summary


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        (ins.STYLES, ins.STYLE_LABELS),
        (ins.FRAMINGS, ins.FRAMING_LABELS),
        (ins.ANGLES, ins.ANGLE_LABELS),
        (ins.SHADOWS, ins.SHADOW_LABELS),
        (ins.SIZES, ins.SIZE_LABELS),
        (ins.ASPECT_RATIOS, ins.ASPECT_RATIO_LABELS),
        (ins.FORMATS, ins.FORMAT_LABELS),
        (ins.MODELS, ins.MODEL_LABELS),
    ],
)
def test_every_enum_value_has_a_label_in_order(values, labels):
    assert tuple(labels) == values
    assert all(isinstance(label, str) and label for label in labels.values())


def test_labels_read_as_words():
    assert ins.STYLE_LABELS["ghost_mannequin"] == "Ghost mannequin"
    assert ins.FRAMING_LABELS["tall_3_4"] == "Tall 3:4"
    assert ins.MODEL_LABELS["nano_banana_pro"] == "Nano Banana Pro"


def test_size_tables_cover_every_size():
    assert set(ins.SIZE_PIXELS) == set(ins.CREDITS_PER_OUTPUT) == set(ins.SIZES)
    assert ins.DEFAULT_SIZE in ins.SIZES
    assert ins.DEFAULT_FORMAT in ins.FORMATS
    assert set(ins.SHADOW_DEFAULTS) == set(ins.STYLES)


def test_module_imports_nothing_from_django_or_the_project():
    source = Path(ins.__file__).read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "import copy",
        "import json",
        "import re",
        "import reprlib",
        "from collections import defaultdict",
        "from collections.abc import Callable",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('[{"style": "free", "seed": ' + "1" * 5000 + "}]", "not valid JSON"),
    ],
)
def test_hostile_json_is_refused_with_a_message_not_a_crash(text, message):
    with pytest.raises(InstructionsError) as info:
        load_instructions(text)
    assert message in info.value.errors["instructions"][0]


# --- One rule for user text (issue 10, finding 1) and small answers to huge input (finding 3) ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Sum\ud800mer", "contains a character that cannot be stored (U+D800)"),
        ("\udc00", "contains a character that cannot be stored (U+DC00)"),
        ("a\x00b", "contains a character that cannot be stored (U+0000)"),
        ("bell\x07", "contains a control character (U+0007)"),
        ("\x1b[31mred", "contains a control character (U+001B)"),
        ("broken \ufffd", "contains a character that could not be decoded (U+FFFD); retype the text"),
        ("x" * 11, "must be at most 10 characters (got 11)"),
        (b"bytes", "must be a string"),
    ],
)
def test_text_that_cannot_be_stored_or_shown_is_refused_with_the_reason(text, message):
    assert ins.text_error(text, max_length=10) == message


@pytest.mark.parametrize("text", ["", "tab\tnew\nline\r", "Été 👕 ß", "<script>alert(1)</script>", "x" * 40])
def test_ordinary_text_passes_the_text_rule(text):
    assert ins.text_error(text, max_length=40) is None


BAD_TEXT_IN_INSTRUCTIONS = [
    # (instruction, error key) — every string inside an instruction goes through the text rule
    ({"style": "free", "prompt": "\ud800"}, "prompt"),
    ({"style": "free", "background": "wh\ud800ite"}, "background"),
    ({"style": "flat_lay", "surface": {"text": "oak\ud800"}}, "surface.text"),
    ({"style": "free", "lighting": {"direction": "\ud800"}}, "lighting.direction"),
    ({"style": "marketing_ready", "props": {"image": "\ud800.png"}}, "props.image"),
    ({"style": "free", "preset_name": "P\ud800"}, "preset_name"),
    ({"style": "free", "category_names": ["PDP", "Sum\ud800mer"]}, "category_names[1]"),
]


@pytest.mark.parametrize(("instruction", "key"), BAD_TEXT_IN_INSTRUCTIONS)
def test_a_surrogate_anywhere_in_an_instruction_is_reported_with_its_field_path(instruction, key):
    assert validate_job(instructions=[instruction]) == {
        f"instructions[0].{key}": ["contains a character that cannot be stored (U+D800)"]
    }


@pytest.mark.parametrize("key", ["prompt", "background", "preset_name"])
def test_nul_in_an_instruction_is_a_field_error(key):
    assert validate_instruction({"style": "free", key: "a\x00b"}) == {
        key: ["contains a character that cannot be stored (U+0000)"]
    }


def test_a_blank_preset_name_is_refused():
    assert validate_instruction({"style": "free", "preset_name": "   "}) == {
        "preset_name": ["must not be blank"]
    }


def test_categories_are_limited_in_number_and_length():
    too_many = [f"c{i}" for i in range(ins.MAX_CATEGORIES + 1)]
    assert ins.validate_categories(too_many) == {"categories": ["must have at most 20 categories (got 21)"]}
    assert ins.validate_categories(["ok", "c" * 101]) == {
        "categories[1]": ["must be at most 100 characters (got 101)"]
    }
    assert ins.validate_categories(["PDP", "Zalando"]) == {}


def test_file_ids_go_through_the_text_rule():
    errors = validate_job(instructions=[{"style": "free"}], images=[{"file_id": "a\x00"}, "b\ud800"])
    assert errors == {
        "images[0].file_id": ["contains a character that cannot be stored (U+0000)"],
        "images[1]": ["contains a character that cannot be stored (U+D800)"],
    }


def test_a_bad_value_is_quoted_short_never_at_length():
    errors = validate_instruction({"style": "x" * 1_000_000, "y" * 1_000_000: 1})
    assert all(len(message) < 200 for messages in errors.values() for message in messages)
    assert errors["style"][0].startswith("'xxxx") and "..." in errors["style"][0]


def test_at_most_twenty_errors_come_back_and_the_rest_are_counted():
    errors = validate_instruction({"style": "free", **{f"k{i}": i for i in range(500)}})
    assert sum(len(messages) for messages in errors.values()) == ins.MAX_ERRORS + 1
    assert errors["instruction"][-1] == "480 more problems not shown"


def test_a_huge_list_of_instructions_is_judged_by_its_count_and_first_ten():
    errors = validate_job(instructions=[{}] * 1_000_000)
    assert errors["instructions"][0] == "need 1–10 instructions (got 1000000)"
    assert sum(len(messages) for messages in errors.values()) <= ins.MAX_ERRORS + 1


def test_an_instructions_document_over_the_size_cap_is_refused_before_parsing():
    text = "[" + ",".join(['{"style": "free"}'] * 600_000) + "]"
    with pytest.raises(InstructionsError) as info:
        load_instructions(text)
    assert info.value.errors == {"instructions": ["too large: 10,547 KB; the limit is 512 KB"]}
    with pytest.raises(InstructionsError):
        load_instructions(text.encode())


def test_a_document_just_under_the_size_cap_is_parsed():
    text = '[{"style": "free"}]'
    padded = text + " " * (ins.MAX_INSTRUCTIONS_BYTES - len(text))
    assert load_instructions(padded) == [{"style": "free"}]
