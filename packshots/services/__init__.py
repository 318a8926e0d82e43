"""Use cases: every write to projects, uploads, presets, jobs and results goes through here.

Callers import the package (`from packshots import services`); the modules split it by stage of a job.
"""

from packshots.services.downloads import job_metadata, outputs_write, zip_stream
from packshots.services.drafts import (
    job_add_instructions,
    job_discard,
    job_draft_create,
    job_duplicate,
    job_remove_instruction,
    job_replace_instruction,
    job_request_errors,
    job_set_instructions,
    job_set_options,
    job_start,
    upload_add,
    upload_make_main,
    upload_remove,
    upload_update_note,
)
from packshots.services.jobs import (
    engine_event_apply,
    job_cancel,
    job_fail,
    job_process,
    job_transition,
    jobs_resume,
    output_store_and_apply,
    result_fail,
    result_regenerate_local,
    result_render,
    result_transition,
    results_create,
)
from packshots.services.library import preset_save, presets_import, project_create

__all__ = [
    "engine_event_apply",
    "job_add_instructions",
    "job_cancel",
    "job_discard",
    "job_draft_create",
    "job_duplicate",
    "job_fail",
    "job_metadata",
    "job_process",
    "job_remove_instruction",
    "job_replace_instruction",
    "job_request_errors",
    "job_set_instructions",
    "job_set_options",
    "job_start",
    "job_transition",
    "jobs_resume",
    "output_store_and_apply",
    "outputs_write",
    "preset_save",
    "presets_import",
    "project_create",
    "result_fail",
    "result_regenerate_local",
    "result_render",
    "result_transition",
    "results_create",
    "upload_add",
    "upload_make_main",
    "upload_remove",
    "upload_update_note",
    "zip_stream",
]
