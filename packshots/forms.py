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
                form.add_error(None, f"{key}: {message}")


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
    photos = MultipleFileField(widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
    note = TextField(
        required=False,
        max_length=schema.MAX_NOTE_LENGTH,
        help_text="Optional, applies to the photos in this upload",
    )


class NoteForm(forms.Form):
    note = TextField(required=False, max_length=schema.MAX_NOTE_LENGTH)


class InstructionForm(forms.Form):
    """One instruction, field by field, as the PiktID schema defines it."""

    style = forms.ChoiceField(choices=_choices(schema.STYLES, schema.STYLE_LABELS))
    background = TextField(required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH)
    surface = TextField(
        required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH, help_text="Flat lay only, e.g. linen, oak"
    )
    color_palette = TextField(required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH)
    composition = TextField(required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH)
    props = TextField(
        required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH, help_text="Marketing-ready only"
    )
    lighting = TextField(required=False, max_length=schema.MAX_DESIGN_TEXT_LENGTH)
    framing = forms.ChoiceField(
        required=False, choices=_choices(schema.FRAMINGS, schema.FRAMING_LABELS, "Default")
    )
    angle = forms.ChoiceField(required=False, choices=_choices(schema.ANGLES, schema.ANGLE_LABELS, "Default"))
    shadow = forms.ChoiceField(
        required=False, choices=_choices(schema.SHADOWS, schema.SHADOW_LABELS, "Style default")
    )
    prompt = TextField(
        required=False, max_length=schema.MAX_PROMPT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    seed = forms.IntegerField(required=False)
    num_variations = forms.IntegerField(initial=1, label="Variations")
    size = forms.ChoiceField(
        required=False, choices=_choices(schema.SIZES, {}, f"Default ({schema.DEFAULT_SIZE})")
    )
    ar = forms.ChoiceField(
        required=False, label="Aspect ratio", choices=_choices(schema.ASPECT_RATIOS, {}, "Default")
    )
    format = forms.ChoiceField(
        required=False, choices=_choices(schema.FORMATS, {"jpg": "JPG", "png": "PNG"}, "JPG")
    )
    width = forms.IntegerField(required=False, help_text="Custom size: 256–7000, multiple of 8")
    height = forms.IntegerField(required=False)

    OPTION_FIELDS = ("size", "ar", "format", "width", "height")
    # Keys of an edited instruction that the form does not show; they are kept as they were.
    KEPT_KEYS = ("preset_name", "category_names")

    def __init__(self, *args, base: dict | None = None, **kwargs):
        """`base` is the instruction being edited, so what the form cannot show survives the edit."""
        self.base = base or {}
        if base:
            kwargs["initial"] = {**self.initial_from(base), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        instruction = self.to_instruction(data)
        add_schema_errors(self, schema.validate_instruction(instruction), {})
        data["instruction"] = instruction
        return data

    def to_instruction(self, data: dict) -> dict:
        base = self.base
        instruction: dict = {"style": data["style"]}
        for name in schema.DESIGN_FIELDS:
            original = base.get(name)
            if (
                original is not None
                and not isinstance(original, str)
                and data.get(name) == schema.design_text(original)
            ):
                instruction[name] = original  # an object or a Design Value index, left untouched
            elif data.get(name):
                instruction[name] = data[name]
        for name in ("framing", "angle", "shadow", "prompt"):
            if data.get(name):
                instruction[name] = data[name]
        if data.get("seed") is not None:
            instruction["seed"] = data["seed"]
        if data.get("num_variations") not in (None, 1):
            instruction["num_variations"] = data["num_variations"]
        options = {k: data[k] for k in self.OPTION_FIELDS if data.get(k) not in (None, "")}
        if "seed" in base.get("options", {}):
            options["seed"] = base["options"]["seed"]
        if options:
            instruction["options"] = options
        instruction.update({key: base[key] for key in self.KEPT_KEYS if key in base})
        return instruction

    @classmethod
    def initial_from(cls, instruction: dict) -> dict:
        initial = {
            k: v for k, v in instruction.items() if k in cls.base_fields and k not in schema.DESIGN_FIELDS
        }
        for name in schema.DESIGN_FIELDS:
            if name in instruction:
                initial[name] = schema.design_text(instruction[name])
        initial.update({k: v for k, v in instruction.get("options", {}).items() if k in cls.OPTION_FIELDS})
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
