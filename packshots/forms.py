"""Shape of HTTP input; the instruction rules themselves come from `instructions.validate_*`."""

from django import forms

from packshots import compliance
from packshots import instructions as schema
from packshots.engines import ENGINES
from packshots.models import Job, Preset


def _choices(
    values: tuple[str, ...], labels: dict[str, str], blank: str | None = None
) -> list[tuple[str, str]]:
    options = [(v, labels.get(v, v)) for v in values]
    return [("", blank), *options] if blank is not None else options


def add_schema_errors(form: forms.Form, errors: dict[str, list[str]], field_map: dict[str, str]) -> None:
    """Put schema errors next to their field; anything unmapped goes to the summary on top."""
    for key, messages in errors.items():
        leaf = key.rsplit(".", 1)[-1]
        field = field_map.get(leaf, leaf)
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
            else:
                form.add_error(None, f"{schema.error_label(key)}: {message}")


class TextField(forms.CharField):
    """A CharField under the schema's text rule (`schema.text_error`): every form refuses the same text."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(max_length=max_length, **kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        # Runs before the max_length and NUL validators, so the message is the schema's, as in JSON files.
        if value and (error := schema.text_error(value, max_length=self.max_length)):
            raise forms.ValidationError(error, code="text")

    def bound_data(self, data, initial):
        # Text over the limit comes back cut to it: the page stays small and the error gives the real length.
        if isinstance(data, str) and len(data) > self.max_length:
            return data[: self.max_length]
        return data


class ProjectForm(forms.Form):
    name = TextField(max_length=120)
    description = TextField(
        required=False, max_length=schema.MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


# What the file picker offers: the formats the server reads (imaging/decode.py), by type and by extension, as
# some phones label HEIC photos with no type at all.
PHOTO_ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,.jpg,.jpeg,.png,.webp,.heic,.heif"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files and self.required:
            raise forms.ValidationError("Choose at least one photo.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    # One or many photos per request; each is then checked and stored on its own.
    photos = MultipleFileField(widget=MultipleFileInput(attrs={"accept": PHOTO_ACCEPT}))
    note = TextField(
        required=False,
        max_length=schema.MAX_NOTE_LENGTH,
        help_text="Optional, applies to the photos in this upload",
    )


class NoteForm(forms.Form):
    note = TextField(required=False, max_length=schema.MAX_NOTE_LENGTH)


SIZE_CUSTOM = "custom"
LIGHTING_MODES = [("text", "In words"), ("parts", "Direction, quality, complexity")]


def _design_field(label: str | None = None, **kwargs) -> TextField:
    return TextField(required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH, label=label, **kwargs)


class ShadowField(forms.ChoiceField):
    """Offers "Style default" once; a posted "auto" (PiktID's name for it, older pages) means the same."""

    def valid_value(self, value) -> bool:
        return value == "auto" or super().valid_value(value)

    def to_python(self, value) -> str:
        value = super().to_python(value)
        return "" if value == "auto" else value


class InstructionForm(forms.Form):
    """One instruction, field by field, as the PiktID schema defines it.

    Some fields apply only under a choice made in another one (`when`): surface for flat lay, props and colour
    palette for marketing-ready, width and height for a custom size, the lighting parts when lighting is given
    by direction, quality and complexity (the lighting text goes with either: alone, or as the parts' text).
    The page hides the others (static/js/instructions.js reads the `data-when` attribute set here); a value
    sent for a field that does not apply is refused next to it, never stored and never dropped without a
    word. The size fields are the exception: the Size choice decides (see _settle_size).
    """

    style = forms.ChoiceField(choices=_choices(schema.STYLES, schema.STYLE_LABELS))
    background = _design_field(help_text="Empty: the style default")
    surface = _design_field(help_text="Flat lay only, e.g. linen, oak")
    color_palette = _design_field(help_text="Marketing-ready only")
    composition = _design_field()
    props = _design_field(help_text="Marketing-ready only")
    lighting_mode = forms.ChoiceField(
        required=False, label="Lighting given", choices=LIGHTING_MODES, initial="text"
    )
    lighting = _design_field(help_text="e.g. soft window light; may go with direction, quality, complexity")
    lighting_direction = _design_field("Light direction", help_text="e.g. from the left")
    lighting_quality = _design_field("Light quality", help_text="e.g. soft, diffused")
    lighting_complexity = _design_field("Light complexity", help_text="e.g. single key light")
    framing = forms.ChoiceField(
        required=False, choices=_choices(schema.FRAMINGS, schema.FRAMING_LABELS, schema.STYLE_DEFAULT)
    )
    angle = forms.ChoiceField(
        required=False,
        choices=_choices(schema.ANGLES, schema.ANGLE_LABELS, schema.STYLE_DEFAULT),
        help_text="Flat lay is always shot top-down",
    )
    shadow = ShadowField(
        required=False,
        choices=_choices(
            tuple(s for s in schema.SHADOWS if s != "auto"), schema.SHADOW_LABELS, schema.STYLE_DEFAULT
        ),
    )
    prompt = TextField(
        required=False, max_length=schema.MAX_PROMPT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    seed = forms.IntegerField(required=False)
    num_variations = forms.IntegerField(initial=1, label="Variations")
    size = forms.ChoiceField(
        required=False,
        choices=[
            *_choices(schema.SIZES, {}, f"Default ({schema.DEFAULT_SIZE})"),
            (SIZE_CUSTOM, "Custom width × height"),
        ],
    )
    ar = forms.ChoiceField(
        required=False, label="Aspect ratio", choices=_choices(schema.ASPECT_RATIOS, {}, "Default")
    )
    format = forms.ChoiceField(
        required=False, choices=_choices(schema.FORMATS, {"jpg": "JPG", "png": "PNG"}, "JPG")
    )
    width = forms.IntegerField(required=False, help_text="Custom size only: 256–7000, multiple of 8")
    height = forms.IntegerField(required=False, help_text="Custom size only: 256–7000, multiple of 8")

    OPTION_FIELDS = ("size", "ar", "format", "width", "height")
    LIGHTING_FIELDS = {f"lighting_{part}": part for part in schema.LIGHTING_PARTS}
    # Keys of an edited instruction that the form does not show; they are kept as they were.
    KEPT_KEYS = ("preset_name", "category_names")
    # field -> (the field that decides, the values under which it applies)
    WHEN: dict[str, tuple[str, tuple[str, ...]]] = {
        **{
            name: ("style", tuple(s for s in schema.STYLES if schema.field_applies(name, s)))
            for name in (*schema.DESIGN_FIELDS, "angle")
            if not all(schema.field_applies(name, s) for s in schema.STYLES)
        },
        **{name: ("lighting_mode", ("parts",)) for name in LIGHTING_FIELDS},
        "ar": ("size", ("", *schema.SIZES)),
        "width": ("size", (SIZE_CUSTOM,)),
        "height": ("size", (SIZE_CUSTOM,)),
    }

    def __init__(self, *args, base: dict | None = None, **kwargs):
        """`base` is the instruction being edited, so what the form cannot show survives the edit."""
        self.base = base or {}
        self.notes: list[str] = []  # what was not kept, and why: the view adds them to its success message
        if base:
            kwargs["initial"] = {**self.initial_from(base), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        for name, (decider, values) in self.WHEN.items():
            self.fields[name].widget.attrs["data-when"] = f"{self.add_prefix(decider)}={'|'.join(values)}"
        for name in schema.STYLE_ONLY_FIELDS:
            if held := self._unshown(name):
                # The field is empty, but the page's script must know it holds something to say it is dropped.
                self.fields[name].widget.attrs["data-holds"] = held
        self.fields["background"].widget.attrs["placeholder"] = schema.STYLE_DEFAULT

    def clean(self) -> dict:
        data = super().clean()
        self._settle_size(data)
        self._refuse_what_does_not_apply(data)
        self._note_what_the_form_cannot_show(data)
        if data.get("size") == SIZE_CUSTOM and data.get("width") is None and data.get("height") is None:
            self.add_error("width", "Enter a width and a height for a custom size, or choose another size.")
        if self.errors:
            return data
        instruction = self.to_instruction(data)
        field_map = {part: name for name, part in self.LIGHTING_FIELDS.items()}
        add_schema_errors(self, schema.validate_instruction(instruction), field_map)
        data["instruction"] = instruction
        return data

    def _settle_size(self, data: dict) -> None:
        """The Size choice decides between a size tier (with an aspect ratio) and a custom width × height.

        Without JavaScript every field shows and is sent, so the other mode's fields may still hold values (an
        edited custom size's width and height, an earlier aspect ratio): they are set aside and cleared, not
        refused. A request without the Size field (a script) gets a custom size from width and height, and
        is refused if it names an aspect ratio too: nothing there says which of the two it means.
        """
        if self.add_prefix("size") not in self.data:
            if any(data.get(name) is not None or self.has_error(name) for name in ("width", "height")):
                data["size"] = SIZE_CUSTOM
            return
        if self.has_error("size"):
            return
        other_mode = ("ar",) if data.get("size") == SIZE_CUSTOM else ("width", "height")
        aside = [name for name in other_mode if data.get(name) not in (None, "") or self.has_error(name)]
        if aside:
            self.data = self.data.copy()  # a QueryDict's copy can be changed: the page shows them cleared
        for name in aside:
            data.pop(name, None)
            self._errors.pop(name, None)
            self.data[self.add_prefix(name)] = ""
        if aside:
            labels = " and ".join(self.fields[name].label or name.capitalize() for name in aside)
            verb = "was" if len(aside) == 1 else "were"
            why = (
                "a custom size sets its own aspect ratio"
                if data.get("size") == SIZE_CUSTOM
                else "they are only for Size “Custom width × height”"
            )
            self.notes.append(f"{labels} {verb} not used: {why}.")

    def _unshown(self, name: str) -> str:
        """What the edited instruction holds in `name` that the form cannot show as text, in words, or ""."""
        original = self.base.get(name)
        if original in (None, "") or schema.design_text(original):
            return ""
        return f"Design Value index {original}" if isinstance(original, int) else "an image"

    def _note_what_the_form_cannot_show(self, data: dict) -> None:
        """An edited instruction's index or image in a field the chosen style does not take is not kept, and
        the success message says so (the page's script says it before): never dropped without a word.

        Text there shows in the field, so it is refused next to it unless cleared; an index or an image does
        not show and cannot be cleared here, so refusing it would leave no way to change the style.
        """
        style = data.get("style")
        for name in schema.STYLE_ONLY_FIELDS:
            if style and (held := self._unshown(name)) and not schema.field_applies(name, style):
                label = self.fields[name].label or name.replace("_", " ").capitalize()
                styles = schema.style_names(schema.STYLE_ONLY_FIELDS[name])
                self.notes.append(f"{label} ({held}) was not kept: it applies only to {styles}.")

    def _refuse_what_does_not_apply(self, data: dict) -> None:
        for name, (decider, values) in self.WHEN.items():
            value, choice = data.get(name), data.get(decider)
            if value in (None, "") or choice is None or choice in values or self.has_error(decider):
                continue
            if decider == "style" and schema.FORCED_VALUES.get(choice, {}).get(name) == value:
                continue  # the forced value itself (an edited flat lay keeps its top-down angle)
            self.add_error(name, self._does_not_apply(name, decider, values))

    def _does_not_apply(self, name: str, decider: str, values: tuple[str, ...]) -> str:
        label = self.fields[name].label or name.replace("_", " ").capitalize()
        if decider == "style":
            if not values or name == "angle":
                return f"{label} is set by this style; leave it on {schema.STYLE_DEFAULT}."
            return schema.style_only_error(name)
        if decider == "size":
            if name == "ar":
                return "A custom size sets its own aspect ratio: leave Aspect ratio on Default."
            return f"{label} is only for a custom size: choose “Custom width × height” in Size, or clear it."
        mode = dict(LIGHTING_MODES)[values[-1]]
        return f"{label} is used only when lighting is given “{mode}”: change that choice, or clear it."

    def to_instruction(self, data: dict) -> dict:
        base = self.base
        style = data["style"]
        instruction: dict = {"style": style}
        for name in schema.DESIGN_FIELDS:
            if not schema.field_applies(name, style):
                continue
            original = base.get(name)
            if name == "lighting":
                value = self._lighting(data, original)
            elif (
                original is not None
                and not isinstance(original, str)
                and data.get(name) == schema.design_text(original)
            ):
                value = original  # an object or a Design Value index, left untouched
            else:
                value = data.get(name)
            if value not in (None, "", {}):
                instruction[name] = value
        for name in ("framing", "angle", "shadow", "prompt"):
            if data.get(name):
                instruction[name] = data[name]
        if data.get("seed") is not None:
            instruction["seed"] = data["seed"]
        if data.get("num_variations") not in (None, 1):
            instruction["num_variations"] = data["num_variations"]
        options = {
            k: data[k] for k in self.OPTION_FIELDS if data.get(k) not in (None, "") and data[k] != SIZE_CUSTOM
        }
        if "seed" in base.get("options", {}):
            options["seed"] = base["options"]["seed"]
        if options:
            instruction["options"] = options
        instruction.update({key: base[key] for key in self.KEPT_KEYS if key in base})
        return instruction

    def _lighting(self, data: dict, original: object) -> object:
        """Text, {direction, quality, complexity}, or both as {text, direction, …} (PiktID's lighting object);
        an edited object or index is kept if left untouched."""
        text = data.get("lighting") or ""
        parts = {part: data[name] for name, part in self.LIGHTING_FIELDS.items() if data.get(name)}
        if original is not None and not isinstance(original, str):
            # As this form shows it, or as the form before the lighting parts showed it (all in one text).
            shown = self._lighting_initial(original)
            fields = self.LIGHTING_FIELDS.items()
            shown_parts = {part: shown[name] for name, part in fields if shown.get(name)}
            legacy = (schema.design_text(original), {})
            if (text, parts) in ((shown.get("lighting", ""), shown_parts), legacy):
                return original
        return {"text": text, **parts} if text and parts else parts or text

    @classmethod
    def _lighting_initial(cls, value: object) -> dict:
        if not isinstance(value, dict) or not any(part in value for part in schema.LIGHTING_PARTS):
            return {"lighting_mode": "text", "lighting": schema.design_text(value)}
        initial = {"lighting_mode": "parts", "lighting": value.get("text", "")}
        initial.update({name: value.get(part, "") for name, part in cls.LIGHTING_FIELDS.items()})
        return {k: v for k, v in initial.items() if isinstance(v, str)}

    @classmethod
    def initial_from(cls, instruction: dict) -> dict:
        initial = {
            k: v for k, v in instruction.items() if k in cls.base_fields and k not in schema.DESIGN_FIELDS
        }
        for name in schema.DESIGN_FIELDS:
            if name in instruction:
                initial[name] = schema.design_text(instruction[name])
        if "lighting" in instruction:
            initial.update(cls._lighting_initial(instruction["lighting"]))
        if initial.get("shadow") == "auto":
            initial["shadow"] = ""  # one way to say it: Style default
        for name, value in schema.FORCED_VALUES.get(instruction.get("style"), {}).items():
            if initial.get(name) == value:
                del initial[name]  # the style's own value (a flat lay's top-down angle) is not a choice
        options = instruction.get("options", {})
        initial.update({k: v for k, v in options.items() if k in cls.OPTION_FIELDS})
        if "width" in options or "height" in options:
            initial["size"] = SIZE_CUSTOM
        return initial


class CustomInstructionForm(InstructionForm):
    """A custom instruction in the wizard, optionally shared with the team library."""

    share_as = TextField(
        required=False,
        max_length=schema.MAX_PRESET_NAME_LENGTH,
        label="Also save as preset",
        help_text="Name it to share it with your team",
    )

    replace = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if self.has_error("replace"):
            # A hidden field's error would not show next to anything: say it on top.
            self.add_error(None, "The instruction being edited is no longer in this job; reload the page.")
        return data

    def instructions(self) -> list[dict]:
        return [self.cleaned_data["instruction"]]


class PresetForm(InstructionForm):
    name = TextField(max_length=schema.MAX_PRESET_NAME_LENGTH)
    categories = TextField(
        required=False,
        max_length=schema.MAX_CATEGORIES * (schema.MAX_CATEGORY_LENGTH + 2),
        help_text="Comma-separated, e.g. PDP, Zalando",
    )

    field_order = ["name", "categories"]

    marketplace = forms.ChoiceField(
        required=False,
        label="Aim at a marketplace",
        choices=[("", "None"), *compliance.PROFILE_CHOICES],
        help_text="Fills size, aspect ratio and format from the channel's rules (Amazon: also no shadow, "
        "full frame, pure white), so the outputs pass its compliance check.",
    )

    def to_instruction(self, data: dict) -> dict:
        instruction = super().to_instruction(data)
        if data.get("marketplace"):
            instruction = compliance.instruction_for(instruction, data["marketplace"])
        return instruction

    def clean_categories(self) -> list[str]:
        categories = [c.strip() for c in self.cleaned_data.get("categories", "").split(",") if c.strip()]
        errors = schema.validate_categories(categories)
        if errors:
            raise forms.ValidationError([f"{key}: {m}" for key, messages in errors.items() for m in messages])
        return categories


class PresetPickForm(forms.Form):
    presets = forms.ModelMultipleChoiceField(
        queryset=Preset.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, presets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["presets"].queryset = presets if presets is not None else Preset.objects.none()

    def instructions(self) -> list[dict]:
        return [preset.as_instruction() for preset in self.cleaned_data["presets"]]


MAX_JSON_BYTES = schema.MAX_INSTRUCTIONS_BYTES


class JsonTextField(forms.CharField):
    def bound_data(self, data, initial):
        # A text over the size cap is not sent back into the textarea: the error page stays small.
        return "" if isinstance(data, str) and len(data) > MAX_JSON_BYTES else data


class InstructionsJsonForm(forms.Form):
    json_text = JsonTextField(
        required=False,
        label="Instructions JSON",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    json_file = forms.FileField(required=False, label="or a .json file")

    def clean(self) -> dict:
        data = super().clean()
        source = data.get("json_file")
        if source and source.size > MAX_JSON_BYTES:
            self.add_error("json_file", f"The file is larger than {MAX_JSON_BYTES // 1024} KB.")
            return data
        text = source.read() if source else data.get("json_text", "")
        if not text or not str(text).strip():
            raise forms.ValidationError("Paste instructions JSON or choose a .json file.")
        try:
            items = schema.load_instructions(text)
        except schema.InstructionsError as exc:
            add_schema_errors(self, exc.errors, {"instructions": "json_text"})
            return data
        add_schema_errors(self, schema.validate_job(instructions=items), {})
        data["instructions"] = items
        return data

    def instructions(self) -> list[dict]:
        return self.cleaned_data["instructions"]


class PresetImportForm(InstructionsJsonForm):
    """The library's import: instructions JSON plus what to do with names the library already has."""

    on_clash = forms.ChoiceField(
        label="When a preset name already exists",
        choices=[
            ("error", "Stop and tell me (import nothing)"),
            ("skip", "Skip it: keep the library's preset"),
            ("overwrite", "Overwrite it with the imported instruction"),
        ],
        initial="error",
        required=False,  # older clients and scripts post without it: they get "error", as before
        widget=forms.RadioSelect,
    )

    def clean_on_clash(self) -> str:
        return self.cleaned_data.get("on_clash") or "error"


class JobOptionsForm(forms.Form):
    engine = forms.ChoiceField(
        choices=[(value, label) for value, label in Job.Engine.choices if value in ENGINES]
    )
    model = forms.ChoiceField(
        choices=_choices(schema.MODELS, schema.MODEL_LABELS),
        initial="auto",
        help_text="PiktID's generation model; the local engine ignores it",
    )
    use_anchor = forms.BooleanField(required=False)
    anchor_index = forms.IntegerField(required=False, min_value=0, initial=0)
    post_process = forms.BooleanField(required=False)

    def __init__(self, *args, engines: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if engines is not None:  # PiktID is offered only to teams with a usable connection
            self.fields["engine"].choices = [c for c in self.fields["engine"].choices if c[0] in engines]

    def options(self) -> dict:
        data = self.cleaned_data
        options = {"model": data["model"]}
        if data.get("use_anchor"):
            options["use_anchor"] = True
            options["anchor_index"] = data.get("anchor_index") or 0
        return options


class ReviewForm(forms.Form):
    """A decision on one or more outputs of a finished job."""

    results = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Choose an output."}
    )
    decision = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    reason = TextField(max_length=500, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Ids are checked against the job by the service; here only their shape.
        self.fields["results"].valid_value = lambda value: str(value).isdigit() and len(str(value)) < 19


class DownloadForm(forms.Form):
    """Which outputs go into a job's ZIP, and how its entries are named."""

    only = forms.ChoiceField(
        choices=[("all", "All outputs"), ("approved", "Approved only"), ("selected", "Selected")],
        required=False,
    )
    results = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)
    names = forms.ChoiceField(
        choices=[("project", "Project and job in every name"), ("piktid", "PiktID's names")], required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Ids are matched against the job's outputs by the service; here only their shape.
        self.fields["results"].valid_value = lambda value: str(value).isdigit() and len(str(value)) < 19
        self.fields["results"].error_messages["invalid_choice"] = "The selection names an unknown output."
