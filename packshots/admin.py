from django.contrib import admin

from packshots import instructions as schema
from packshots.models import EngineEvent, Job, Preset, Project, Result, Upload


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "created_at"]
    list_filter = ["team"]
    search_fields = ["name"]
    autocomplete_fields = ["team", "created_by"]


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
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
class JobAdmin(admin.ModelAdmin):
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
class UploadAdmin(admin.ModelAdmin):
    list_display = ["original_name", "job", "team", "width", "height", "bytes", "confidence", "needs_review"]
    list_filter = ["team", "needs_review"]
    search_fields = ["original_name", "sha256"]
    raw_id_fields = ["job", "project"]
    autocomplete_fields = ["team", "uploaded_by"]


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ["__str__", "job", "status", "width", "height", "format", "model_used", "confidence"]
    list_filter = ["status", "format", "needs_review"]
    raw_id_fields = ["job"]


@admin.register(EngineEvent)
class EngineEventAdmin(admin.ModelAdmin):
    list_display = ["source", "event_id", "name", "job", "received_at"]
    list_filter = ["source", "name"]
    search_fields = ["event_id"]
    raw_id_fields = ["job"]
