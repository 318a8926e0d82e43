import re

from django import forms
from django.contrib import admin
from django.db import models

from packshots import instructions as schema
from packshots.models import EngineEvent, Job, Preset, Project, Result, Upload

MAX_ADMIN_TEXT = 100_000  # for text columns without a max_length (an engine's error message, JSON strings)


def _json_text_error(value: object, path: str = "") -> str | None:
    """The first string (key or value) anywhere in a JSON value that breaks the schema's text rule."""
    if isinstance(value, str):
        error = schema.text_error(value, max_length=MAX_ADMIN_TEXT)
        return f"{path}: {error}" if error and path else error
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if error := schema.text_error(key, max_length=MAX_ADMIN_TEXT):
                return f"a key of {path or 'the object'}: {error}"
            if error := _json_text_error(item, where):
                return error
    if isinstance(value, list):
        for index, item in enumerate(value):
            if error := _json_text_error(item, f"{path}[{index}]"):
                return error
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


class SurrogateSafeJSONField(forms.JSONField):
    def prepare_value(self, value):
        # Django writes JSON with ensure_ascii=False, so a lone surrogate (in a refused submission, or a row
        # stored before the text rule existed) would make the page fail to encode: escape just those.
        text = super().prepare_value(value)
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if isinstance(text, str) else text


class TextRuleAdminForm(forms.ModelForm):
    """Admin edits follow the app's one text rule: every text field and every string inside a JSON field."""

    def clean(self) -> dict:
        data = super().clean()
        for name, value in list(data.items()):
            if isinstance(value, str):
                max_length = getattr(self.fields[name], "max_length", None) or MAX_ADMIN_TEXT
                error = schema.text_error(value, max_length=max_length)
            else:
                error = _json_text_error(value) if isinstance(value, dict | list) else None
            if error:
                self.add_error(name, error)
        return data


class TextRuleAdmin(admin.ModelAdmin):
    form = TextRuleAdminForm
    formfield_overrides = {models.JSONField: {"form_class": SurrogateSafeJSONField}}


@admin.register(Project)
class ProjectAdmin(TextRuleAdmin):
    list_display = ["name", "team", "created_by", "created_at"]
    list_filter = ["team"]
    search_fields = ["name"]
    autocomplete_fields = ["team", "created_by"]


@admin.register(Preset)
class PresetAdmin(TextRuleAdmin):
    list_display = ["name", "team", "style", "author", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name"]
    autocomplete_fields = ["team", "author"]

    @admin.display(description="Style")
    def style(self, preset: Preset) -> str:
        return (
            schema.describe_instruction(preset.instruction) if isinstance(preset.instruction, dict) else "?"
        )


class UploadInline(admin.TabularInline):
    model = Upload
    form = TextRuleAdminForm
    extra = 0
    fields = ["original_name", "width", "height", "bytes", "note", "order", "confidence", "needs_review"]
    readonly_fields = ["original_name", "width", "height", "bytes", "confidence", "needs_review"]
    can_delete = False


class ResultInline(admin.TabularInline):
    model = Result
    extra = 0
    fields = [
        "instruction_index",
        "variation_index",
        "version",
        "status",
        "width",
        "height",
        "format",
        "error",
    ]
    readonly_fields = fields
    can_delete = False


@admin.register(Job)
class JobAdmin(TextRuleAdmin):
    list_display = [
        "pk",
        "project",
        "team",
        "author",
        "engine",
        "status",
        "progress",
        "total_outputs",
        "created_at",
    ]
    list_filter = ["status", "engine", "team"]
    search_fields = ["pk", "project__name", "remote_job_id"]
    readonly_fields = ["created_at", "updated_at", "queued_at", "started_at", "finished_at"]
    autocomplete_fields = ["team", "project", "author"]
    inlines = [UploadInline, ResultInline]


@admin.register(Upload)
class UploadAdmin(TextRuleAdmin):
    list_display = ["original_name", "job", "team", "width", "height", "bytes", "confidence", "needs_review"]
    list_filter = ["team", "needs_review"]
    search_fields = ["original_name", "sha256"]
    raw_id_fields = ["job", "project"]
    autocomplete_fields = ["team", "uploaded_by"]


@admin.register(Result)
class ResultAdmin(TextRuleAdmin):
    list_display = ["__str__", "job", "status", "width", "height", "format", "model_used", "confidence"]
    list_filter = ["status", "format", "needs_review"]
    raw_id_fields = ["job"]


@admin.register(EngineEvent)
class EngineEventAdmin(TextRuleAdmin):
    list_display = ["source", "event_id", "name", "job", "received_at"]
    list_filter = ["source", "name"]
    search_fields = ["event_id"]
    raw_id_fields = ["job"]
