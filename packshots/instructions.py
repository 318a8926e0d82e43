"""PiktID "Create Packshot" instruction schema: allowed values, validation, sizes and credit cost.

Instructions stay plain JSON dicts so a file loaded here and dumped again is unchanged; every function
takes and returns dicts. Stdlib only on purpose: forms, the CLI, the API client and engines all import it.
Contract: /work/shared/docs/piktid-api.md §4 and PiktID's "Create packshot" guide.
"""

import copy
import json
import re
import reprlib
from collections import defaultdict
from collections.abc import Callable

STYLES = ("flat_lay", "ghost_mannequin", "marketing_ready", "white_cutout", "free")
FRAMINGS = ("square_packshot", "tall_3_4", "wide_4_3", "full_frame")
# top_down is forced for flat_lay by PiktID; see normalize_instruction.
ANGLES = ("front", "back", "three_quarter", "top_down", "detail_macro")
SHADOWS = ("auto", "none", "contact", "soft_drop", "natural")
SIZES = ("1K", "2K", "4K")
SIZE_PIXELS = {"1K": 1024, "2K": 2048, "4K": 4096}
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
FORMATS = ("jpg", "png")
# The guide lists three models; the newer official client (commit 4a48cffc) accepts these five.
MODELS = ("auto", "nano_banana_2", "nano_banana_pro", "seedream", "gpt_image")
CREDITS_PER_OUTPUT = {"1K": 3, "2K": 5, "4K": 10}
DEFAULT_SIZE = "1K"
DEFAULT_FORMAT = "jpg"

MAX_IMAGES = 10
# PiktID states a 1-10 instruction limit only for flat-to-model; we assume the same cap here.
MAX_INSTRUCTIONS = 10
MAX_VARIATIONS = 8
MAX_NOTE_LENGTH = 500
MAX_PROMPT_LENGTH = 2000
MAX_DESIGN_TEXT_LENGTH = 1000
MAX_PRESET_NAME_LENGTH = 200
MAX_CATEGORIES = 20
MAX_FILE_ID_LENGTH = 200
MAX_CATEGORY_LENGTH = 100
MAX_TEXT_LENGTH = 5000  # free text with no limit of its own (a project description)
# An instructions file is a few KB (ten instructions at most); the cap keeps parsing, validating and the error
# page small whatever is sent (a 9.9 MB text once took 104 s of CPU and answered a 311 MB page).
MAX_INSTRUCTIONS_BYTES = 512 * 1024
MAX_ERRORS = 20  # messages reported for one document; the rest are counted, not listed
MAX_SEED = 2**31 - 1
MIN_DIMENSION, MAX_DIMENSION = 256, 7000

DESIGN_FIELDS = ("background", "composition", "props", "surface", "color_palette", "lighting")
_DESIGN_PARTS = ("text", "image")
LIGHTING_PARTS = ("direction", "quality", "complexity")

# PiktID only says "style-specific defaults apply"; these follow its description of each style.
SHADOW_DEFAULTS = {
    "white_cutout": "contact",
    "ghost_mannequin": "soft_drop",
    "flat_lay": "natural",
    "marketing_ready": "natural",
    "free": "soft_drop",
}
# Fields that mean something for some styles only: PiktID says surface "applies only to flat_lay", and props
# and color_palette are "meaningful mainly for" marketing_ready scenes. The forms offer each for its styles
# only (and refuse it elsewhere). validate_instruction, which every path goes through (forms, JSON imports,
# instruction files), refuses a surface outside flat_lay, whatever its value: PiktID would ignore it, so
# taking it would drop what was asked for without a word. Props and a colour palette under another style
# are taken from files as PiktID takes them (it reads them for any style). Every other field applies to
# every style.
STYLE_ONLY_FIELDS = {
    "surface": ("flat_lay",),
    "props": ("marketing_ready",),
    "color_palette": ("marketing_ready",),
}
# Values PiktID imposes on a style whatever is sent (see normalize_instruction): they cannot be chosen.
FORCED_VALUES = {"flat_lay": {"angle": "top_down"}}
# The one name for "leave it to the style": a missing key (shadow "auto" is read the same way).
STYLE_DEFAULT = "Style default"
# full_frame has no aspect ratio of its own, so it falls through to 1:1.
FRAMING_ASPECT_RATIOS = {"square_packshot": "1:1", "tall_3_4": "3:4", "wide_4_3": "4:3"}

_EN_DASH = "\u2013"  # PiktID writes ranges with an en dash; escaped so linters do not take it for "-"


def _labels(values: tuple[str, ...], **overrides: str) -> dict[str, str]:
    return {value: overrides.get(value) or value.replace("_", " ").capitalize() for value in values}


STYLE_LABELS = _labels(STYLES)
FRAMING_LABELS = _labels(FRAMINGS, tall_3_4="Tall 3:4", wide_4_3="Wide 4:3")
ANGLE_LABELS = _labels(
    ANGLES, three_quarter="Three-quarter", top_down="Top-down", detail_macro="Detail (macro)"
)
SHADOW_LABELS = _labels(SHADOWS, auto=STYLE_DEFAULT)
SIZE_LABELS = {
    size: f"{size} · {SIZE_PIXELS[size]} px · {CREDITS_PER_OUTPUT[size]} credits" for size in SIZES
}
ASPECT_RATIO_LABELS = dict(
    zip(ASPECT_RATIOS, ("1:1 square", "3:4 portrait", "4:3 landscape", "9:16", "16:9"), strict=True)
)
FORMAT_LABELS = {fmt: fmt.upper() for fmt in FORMATS}
MODEL_LABELS = _labels(
    MODELS,
    auto="Auto (with safety fallback)",
    nano_banana_2="Nano Banana 2",
    nano_banana_pro="Nano Banana Pro",
    gpt_image="GPT Image",
)


# Lone UTF-16 surrogates (JSON "\ud800") cannot be encoded as UTF-8, so a page showing one fails;
# PostgreSQL refuses NUL in text and JSON; other C0 controls are never meant. U+FFFD is what Django puts in
# place of bytes that were not UTF-8 (a surrogate sent through a form arrives so): the text was damaged.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffd]")
# Bad values are quoted short in messages, never at length.
_quote = reprlib.Repr(maxstring=40, maxother=40, maxlevel=2).repr


def style_names(styles: tuple[str, ...]) -> str:
    """Styles as the pages name them: "Flat lay", or "Flat lay, Free or White cutout"."""
    labels = [STYLE_LABELS.get(style, style) for style in styles]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def style_only_error(field: str) -> str:
    """The one message for a field set under a style it does not apply to (STYLE_ONLY_FIELDS)."""
    label = field.replace("_", " ").capitalize()
    return f"{label} applies only to {style_names(STYLE_ONLY_FIELDS[field])}: clear it or choose that style."


_ROW_KEY = re.compile(r"(instructions|images)\[(\d+)\]\.?")


def error_label(key: str) -> str:
    """A field path as people read it, rows counted from 1 as the pages count them.

    "instructions[1].options.width" is "instruction #2, options.width"; "images[0]" is "image #1". Paths
    stay 0-based inside (they index the document); only what is shown is renumbered.
    """
    match = _ROW_KEY.match(key)
    if not match:
        return key
    row = f"{match.group(1)[:-1]} #{int(match.group(2)) + 1}"
    rest = key[match.end() :]
    return f"{row}, {rest}" if rest else row


def format_errors(errors: dict[str, list[str]]) -> str:
    """Errors as one line: 'instruction #2, seed: must be …; instructions: …' (CLI, exception text)."""
    return "; ".join(
        f"{error_label(key)}: {message}" for key, messages in errors.items() for message in messages
    )


def text_error(value: object, *, max_length: int) -> str | None:
    """Why `value` cannot be taken as user text, or None: not a string, too long, or an unusable character.

    The one rule for every piece of text a user sends (forms, JSON files, the CLI, the admin, API payloads).
    Tab, newline and carriage return are fine; the message names the first bad character's code point.
    """
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > max_length:
        return f"must be at most {max_length} characters (got {len(value)})"
    if match := _UNSTORABLE.search(value):
        code = ord(match.group())
        if code == 0xFFFD:
            return "contains a character that could not be decoded (U+FFFD); retype the text"
        if code < 0x20 and code != 0:
            return f"contains a control character (U+{code:04X})"
        return f"contains a character that cannot be stored (U+{code:04X})"
    return None


class InstructionsError(ValueError):
    """Carries field-level errors; str() joins them as 'field: message; field: message'."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(format_errors(errors))


# --- Field checks: each takes a value and returns an error message, or None when the value is fine ---
# A check may also return (suffix, message) to point inside the value: ("[2]", ...) or (".text", ...).

Check = Callable[[object], str | tuple[str, str] | None]


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but `true` in a JSON file is a mistake, not a 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _when(is_valid: Callable[[object], bool], message: str) -> Check:
    return lambda value: None if is_valid(value) else message


def _enum(choices: tuple[str, ...], noun: str) -> Check:
    return lambda value: (
        None if value in choices else f"{_quote(value)} is not {noun}; use {_one_of(choices)}"
    )


def _int_range(low: int, high: int | None = None, message: str = "") -> Check:
    if not message:
        message = f"must be {low}{_EN_DASH}{high}" if high is not None else f"must be {low} or more"

    def check(value: object) -> str | None:
        if not _is_int(value):
            return "must be a whole number"
        return None if low <= value and (high is None or value <= high) else message

    return check


def _text(max_length: int, *, blank: bool = True) -> Check:
    def check(value: object) -> str | None:
        if error := text_error(value, max_length=max_length):
            return error
        return None if blank or value.strip() else "must not be blank"

    return check


def _categories(value: object) -> str | tuple[str, str] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "must be a list of strings"
    if len(value) > MAX_CATEGORIES:
        return f"must have at most {MAX_CATEGORIES} categories (got {len(value)})"
    for i, item in enumerate(value):
        if error := text_error(item, max_length=MAX_CATEGORY_LENGTH):
            return f"[{i}]", error
    return None


def validate_categories(value: object, *, key: str = "categories") -> dict[str, list[str]]:
    """{key or key[i]: [message]} for a list of category names (a preset's, or an instruction's)."""
    error = _categories(value)
    if error is None:
        return {}
    suffix, message = error if isinstance(error, tuple) else ("", error)
    return {key + suffix: [message]}


def _dimension(value: object) -> str | None:
    return _int_range(MIN_DIMENSION, MAX_DIMENSION)(value) or (
        None if value % 8 == 0 else "must be a multiple of 8"
    )


def _design(parts: tuple[str, ...]) -> Check:
    """Design fields are free text, a "Design Value index" (int) or an object made of string parts."""
    text = _text(MAX_DESIGN_TEXT_LENGTH)

    def check(value: object) -> str | tuple[str, str] | None:
        if isinstance(value, str):
            return text(value)
        if _is_int(value):
            if value > MAX_SEED:  # an index into PiktID's list of design values; no list is that long
                return f"a Design Value index must be at most {MAX_SEED}"
            return None if value >= 0 else "a Design Value index must be 0 or more"
        if not isinstance(value, dict):
            return "must be text, a Design Value index or an object with text and/or image"
        if not value:
            return f"must have at least one of {_one_of(parts)}"
        for key, part in value.items():
            if key not in parts:
                return f"unknown key {_quote(key)}; use {_one_of(parts)}"
            if error := text(part):
                return f".{key}", error
        return None

    return check


_boolean = _when(lambda value: isinstance(value, bool), "must be true or false")
_object = _when(lambda value: isinstance(value, dict), "must be an object")

_INSTRUCTION_CHECKS: dict[str, Check] = {
    "style": _enum(STYLES, "a style"),
    **{field: _design(_DESIGN_PARTS) for field in DESIGN_FIELDS},
    "lighting": _design(_DESIGN_PARTS + LIGHTING_PARTS),
    "framing": _enum(FRAMINGS, "a framing"),
    # Any angle is accepted for flat_lay: PiktID forces top_down rather than rejecting the instruction.
    "angle": _enum(ANGLES, "an angle"),
    "shadow": _enum(SHADOWS, "a shadow"),
    "prompt": _text(MAX_PROMPT_LENGTH),
    "seed": _int_range(0, MAX_SEED),
    "num_variations": _int_range(1, MAX_VARIATIONS),
    "preset_name": _text(MAX_PRESET_NAME_LENGTH, blank=False),
    "category_names": _categories,
    "options": _object,  # its keys are checked with _OUTPUT_OPTION_CHECKS
}
_OUTPUT_OPTION_CHECKS: dict[str, Check] = {
    "size": _enum(SIZES, "a size"),
    "ar": _enum(ASPECT_RATIOS, "an aspect ratio"),
    "format": _enum(FORMATS, "a format"),
    "width": _dimension,
    "height": _dimension,
    "seed": _int_range(0, MAX_SEED),
}
# file_id is checked by _check_image, which also accepts a bare string.
_IMAGE_CHECKS: dict[str, Check] = {"file_id": lambda value: None, "note": _text(MAX_NOTE_LENGTH)}


def _container(path: str) -> str:
    # A bare instruction (path "") has no key of its own; forms show "instruction" as a non-field error.
    return path.rstrip(".") or "instruction"


def _check_object(data: dict, checks: dict[str, Check], path: str, errors: dict[str, list[str]]) -> None:
    """Run each key's check: errors go under path + key, unknown keys under the object's own path."""
    for key, value in data.items():
        if key not in checks:
            errors[_container(path)].append(f"unknown field {_quote(key)}")
        elif error := checks[key](value):
            suffix, message = error if isinstance(error, tuple) else ("", error)
            errors[path + key + suffix].append(message)


def _capped(errors: dict[str, list[str]], container: str) -> dict[str, list[str]]:
    """The first MAX_ERRORS messages, and how many more there were: a page of errors stays small."""
    total = sum(len(messages) for messages in errors.values())
    if total <= MAX_ERRORS:
        return dict(errors)
    kept: dict[str, list[str]] = {}
    room = MAX_ERRORS
    for key, messages in errors.items():
        if room <= 0:
            break
        kept[key] = messages[:room]
        room -= len(kept[key])
    kept.setdefault(container, []).append(f"{total - MAX_ERRORS} more problems not shown")
    return kept


# --- Validation ---


def validate_instruction(data: object, *, path: str = "") -> dict[str, list[str]]:
    """Return {field path: [messages]} for one instruction; empty when it is valid.

    Keys are prefixed with `path` ("instructions[1]." gives "instructions[1].options.width"). Errors about an
    object as a whole (not an object, unknown fields, width without height) are keyed by that object's path.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(data, dict):
        errors[_container(path)].append("must be an object")
        return dict(errors)
    if "style" not in data:
        errors[path + "style"].append(f"is required; use {_one_of(STYLES)}")
    _check_object(data, _INSTRUCTION_CHECKS, path, errors)
    style = data.get("style")
    # Any value (text, an index, an object, even a wrong type) is refused alike; "" asks for nothing.
    if style in STYLES and style not in STYLE_ONLY_FIELDS["surface"] and data.get("surface", "") != "":
        errors[path + "surface"].append(style_only_error("surface"))
    options = data.get("options")
    if isinstance(options, dict):
        options_path = path + "options."
        _check_object(options, _OUTPUT_OPTION_CHECKS, options_path, errors)
        width, height = options.get("width"), options.get("height")
        if (width is None) != (height is None):
            errors[_container(options_path)].append("width and height must be set together")
        elif (
            width is not None
            and not (_dimension(width) or _dimension(height))
            and not 1 / 4 <= width / height <= 4
        ):
            errors[_container(options_path)].append("aspect ratio must be between 1:4 and 4:1")
    return _capped(errors, _container(path))


def validate_job(
    *,
    instructions: object,
    images: object | None = None,
    options: object | None = None,
    post_process: object = False,
) -> dict[str, list[str]]:
    """Return {field path: [messages]} for a whole POST /create-packshot body; images=None skips images.

    Past the allowed count only the first instructions and images are checked (the count error says why), and
    at most MAX_ERRORS messages come back, so a huge document costs little to judge and to show.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(instructions, list):
        errors["instructions"].append("must be a list of instructions")
        instructions = []
    elif not 1 <= len(instructions) <= MAX_INSTRUCTIONS:
        errors["instructions"].append(
            f"need 1{_EN_DASH}{MAX_INSTRUCTIONS} instructions (got {len(instructions)})"
        )
    for i, instruction in enumerate(instructions[:MAX_INSTRUCTIONS]):
        errors.update(validate_instruction(instruction, path=f"instructions[{i}]."))

    if images is not None:
        if not isinstance(images, list):
            errors["images"].append("must be a list of file ids")
            images = []
        elif not 1 <= len(images) <= MAX_IMAGES:
            errors["images"].append(f"need 1{_EN_DASH}{MAX_IMAGES} images (got {len(images)})")
        for i, image in enumerate(images[:MAX_IMAGES]):
            _check_image(image, f"images[{i}]", errors)

    if error := (None if options is None else _object(options)):
        errors["options"].append(error)
    elif options:
        # anchor_index points into instructions, so its upper bound is their count.
        count = len(instructions)
        anchor = (
            _int_range(0, count - 1, f"must satisfy 0 ≤ anchor_index < {count}") if count else _int_range(0)
        )
        checks = {"model": _enum(MODELS, "a model"), "use_anchor": _boolean, "anchor_index": anchor}
        _check_object(options, checks, "options.", errors)

    if error := _boolean(post_process):
        errors["post_process"].append(error)
    return _capped(errors, "instructions")


def _check_image(image: object, key: str, errors: dict[str, list[str]]) -> None:
    # PiktID accepts a bare file id or {"file_id", "note"?}, mixed freely in one list.
    if isinstance(image, dict):
        _check_object(image, _IMAGE_CHECKS, key + ".", errors)
        file_id = image.get("file_id")
    elif isinstance(image, str):
        file_id = image
    else:
        errors[key].append('must be a file id or {"file_id": ..., "note": ...}')
        return
    if not isinstance(file_id, str) or not file_id.strip():
        errors[key].append("needs a non-empty file id")
    elif error := text_error(file_id, max_length=MAX_FILE_ID_LENGTH):
        errors[key + (".file_id" if isinstance(image, dict) else "")].append(error)


# --- Derived values (they expect an instruction that passed validate_instruction) ---


def normalize_instruction(data: dict) -> dict:
    """Return a copy with PiktID's forced values applied: flat_lay is always shot top_down."""
    result = copy.deepcopy(data)
    result.update(FORCED_VALUES.get(result.get("style"), {}))
    return result


def field_applies(field: str, style: str) -> bool:
    """Whether a user may set `field` for `style`: not a field of other styles, not one the style forces."""
    return field not in FORCED_VALUES.get(style, {}) and style in STYLE_ONLY_FIELDS.get(field, (style,))


def _options(instruction: dict) -> dict:
    return instruction.get("options") or {}


def _custom_size(instruction: dict) -> tuple[int, int] | None:
    options = _options(instruction)
    return (options["width"], options["height"]) if options.get("width") and options.get("height") else None


def _aspect_ratio(instruction: dict) -> str:
    return _options(instruction).get("ar") or FRAMING_ASPECT_RATIOS.get(instruction.get("framing", ""), "1:1")


def _variations(instruction: dict) -> int:
    return instruction.get("num_variations", 1)


def total_outputs(instructions: list[dict]) -> int:
    """Number of images PiktID produces: one per variation of every instruction."""
    return sum(_variations(instruction) for instruction in instructions)


def output_credits(instruction: dict) -> int:
    """Credits for ONE output of this instruction: 3, 5 or 10 at 1K, 2K or 4K."""
    custom = _custom_size(instruction)
    if custom:
        # Our assumption (PiktID does not document it): a custom size costs as the smallest tier whose
        # long side covers it, and anything beyond 4K costs as 4K.
        size = next((size for size in SIZES if max(custom) <= SIZE_PIXELS[size]), SIZES[-1])
    else:
        # Without a size the server picks its default; we assume that is 1K (also undocumented).
        size = _options(instruction).get("size") or DEFAULT_SIZE
    return CREDITS_PER_OUTPUT[size]


def credit_cost(instructions: list[dict]) -> int:
    """Credits the whole job needs: the sum of num_variations * output_credits."""
    return sum(_variations(instruction) * output_credits(instruction) for instruction in instructions)


def total_megapixels(instructions: list[dict]) -> float:
    """Pixels the whole job renders, in millions (what a worker has to make)."""
    return sum(_variations(i) * output_size(i)[0] * output_size(i)[1] for i in instructions) / 1e6


def output_size(instruction: dict) -> tuple[int, int]:
    """(width, height) in px: custom width/height, else the size tier's long side at the aspect ratio."""
    if custom := _custom_size(instruction):
        return custom
    long_side = SIZE_PIXELS[_options(instruction).get("size") or DEFAULT_SIZE]
    w, h = (int(part) for part in _aspect_ratio(instruction).split(":"))
    return (long_side, round(long_side * h / w)) if w >= h else (round(long_side * w / h), long_side)


def output_format(instruction: dict) -> str:
    return _options(instruction).get("format") or DEFAULT_FORMAT


def effective_shadow(instruction: dict) -> str:
    """The shadow actually applied: the explicit one, or the style's default when missing or "auto"."""
    shadow = instruction.get("shadow", "auto")
    return SHADOW_DEFAULTS[instruction["style"]] if shadow == "auto" else shadow


def design_text(value: object) -> str:
    """Plain text of a design field; "" for a Design Value index or an image-only object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts = (value.get(key) for key in ("text", *LIGHTING_PARTS))
        return " ".join(part for part in parts if isinstance(part, str) and part)
    return ""


def design_summary(value: object) -> str:
    """A design field as the instruction list shows it: its text, or "Style default" when it is not set."""
    if value is None or value == "":
        return STYLE_DEFAULT
    if isinstance(value, bool) or not isinstance(value, str | int | dict):
        return str(value)
    if isinstance(value, int):
        return f"Design value #{value}"
    text = design_text(value)
    if isinstance(value, dict) and value.get("image"):
        return f"{text} (with an image)" if text else "An image"
    return text


def describe_scene(instruction: dict) -> list[tuple[str, str]]:
    """(label, text) for the background, the surface (flat lay only) and the shadow of an instruction."""
    style = instruction.get("style")
    scene = [("Background", design_summary(instruction.get("background")))]
    if style in STYLE_ONLY_FIELDS["surface"]:
        scene.append(("Surface", design_summary(instruction.get("surface"))))
    shadow = instruction.get("shadow", "auto")
    if shadow == "auto" and style in SHADOW_DEFAULTS:
        text = f"{STYLE_DEFAULT} ({SHADOW_LABELS[SHADOW_DEFAULTS[style]].lower()})"
    else:
        text = SHADOW_LABELS.get(shadow, str(shadow))
    scene.append(("Shadow", text))
    return scene


def describe_instruction(instruction: dict) -> str:
    """One-line human summary, e.g. "Ghost mannequin · 3 variations · 2K 3:4 JPG"."""
    count = _variations(instruction)
    if custom := _custom_size(instruction):
        size = "{}\u00d7{}".format(*custom)  # width, multiplication sign, height
    else:
        size = f"{_options(instruction).get('size') or DEFAULT_SIZE} {_aspect_ratio(instruction)}"
    style = STYLE_LABELS.get(instruction.get("style"), str(instruction.get("style")))
    variations = f"{count} variation{'' if count == 1 else 's'}"
    return f"{style} · {variations} · {size} {output_format(instruction).upper()}"


# --- Files ---


def load_instructions(text: str | bytes) -> list[dict]:
    """Parse an instructions file, a JSON list or {"instructions": [...]}, keeping it exactly as written.

    Only the size and the shape are checked; call validate_job for the contents. Raises InstructionsError.
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INSTRUCTIONS_BYTES:
        limit = MAX_INSTRUCTIONS_BYTES // 1024
        message = f"too large: {size / 1024:,.0f} KB; the limit is {limit} KB"
        raise InstructionsError({"instructions": [message]})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InstructionsError({"instructions": [message]}) from exc
    except UnicodeDecodeError as exc:
        raise InstructionsError({"instructions": [f"not UTF-8 text: {exc.reason}"]}) from exc
    except RecursionError as exc:
        raise InstructionsError({"instructions": ["nested too deeply to be instructions"]}) from exc
    except ValueError as exc:  # e.g. a number longer than Python's integer digit limit
        raise InstructionsError({"instructions": [f"not valid JSON: {exc}"]}) from exc
    if isinstance(data, dict):
        # Other keys would be lost by dump_instructions, so such a file could not round-trip: refuse them.
        if unknown := [f"unknown field {_quote(key)}" for key in data if key != "instructions"]:
            raise InstructionsError({"instructions": unknown[:MAX_ERRORS]})
        if "instructions" not in data:
            raise InstructionsError({"instructions": ['expected a list or {"instructions": [...]}, got {}']})
        data = data["instructions"]
        if not isinstance(data, list):
            raise InstructionsError(
                {"instructions": [f'"instructions" must be a list, not {_json_type(data)}']}
            )
    elif not isinstance(data, list):
        message = f'expected a list or {{"instructions": [...]}}, not {_json_type(data)}'
        raise InstructionsError({"instructions": [message]})
    return data


def _json_type(value: object) -> str:
    names = {dict: "an object", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def dump_instructions(instructions: list[dict], *, wrapped: bool = False) -> str:
    """JSON text in PiktID's own layout (2-space indent, trailing newline), so their files round-trip."""
    data = {"instructions": instructions} if wrapped else instructions
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
