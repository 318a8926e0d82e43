from django import forms

from batches.models import DEFAULT_NAMING, Batch
from batches.naming import NAMING_FIELDS
from packshots import instructions as schema
from packshots.forms import add_schema_errors
from packshots.models import Job, Preset

MAX_JSON_BYTES = schema.MAX_INSTRUCTIONS_BYTES


class BatchForm(forms.Form):
    name = forms.CharField(max_length=120)
    project = forms.CharField(max_length=120, help_text="An existing project's name, or a new one")
    sku_pattern = forms.CharField(
        max_length=200,
        required=False,
        label="SKU in the file names",
        help_text="For files named by SKU, e.g. {sku}_{anything}.jpg ({anything} or * for the rest)",
    )


class ZipForm(BatchForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="zip_%s", **kwargs)  # two forms on one page: distinct ids

    archive = forms.FileField(
        label="ZIP file", help_text="One folder per SKU, or files named by SKU (pattern)"
    )


class StartForm(forms.Form):
    presets = forms.ModelMultipleChoiceField(
        queryset=Preset.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    json_text = forms.CharField(
        required=False,
        label="and/or instructions JSON",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    json_file = forms.FileField(required=False, label="or a .json file")
    engine = forms.ChoiceField(choices=Job.Engine.choices)
    naming_template = forms.CharField(
        max_length=200,
        initial=DEFAULT_NAMING,
        help_text="Names in the batch ZIP; fields: " + ", ".join("{" + f + "}" for f in NAMING_FIELDS),
    )

    def __init__(self, *args, batch: Batch, engines: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["presets"].queryset = Preset.objects.filter(team=batch.team).order_by("name")
        self.fields["engine"].choices = engines

    def clean(self) -> dict:
        data = super().clean()
        instructions = [p.as_instruction() for p in data.get("presets") or []]
        source = data.get("json_file")
        if source and source.size > MAX_JSON_BYTES:
            self.add_error("json_file", f"The file is larger than {MAX_JSON_BYTES // 1024} KB.")
            return data
        text = source.read() if source else data.get("json_text", "")
        if text and str(text).strip():
            try:
                instructions += schema.load_instructions(text)
            except schema.InstructionsError as exc:
                add_schema_errors(self, exc.errors, {"instructions": "json_text"})
                return data
        if not instructions:
            raise forms.ValidationError("Pick at least one preset or give an instructions JSON.")
        data["instructions"] = instructions
        return data


class BudgetForm(forms.Form):
    monthly_credits = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000_000,
        label="Monthly PiktID budget (credits)",
        help_text="Blank: no budget. Warning at 80%, new PiktID jobs blocked at 100%.",
    )
