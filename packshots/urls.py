from django.urls import path
from django.views.generic import RedirectView

from packshots.views import downloads, jobs, presets, projects, repair, team, webhooks, wizard

app_name = "packshots"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="packshots:project-list"), name="home"),
    path("projects/", projects.project_list, name="project-list"),
    path("projects/<int:project_id>/", projects.project_detail, name="project-detail"),
    path("projects/<int:project_id>/jobs/new/", projects.job_new, name="job-new"),
    path("projects/<int:project_id>/edit/", projects.project_edit, name="project-edit"),
    path("projects/<int:project_id>/archive/", projects.project_archive, name="project-archive"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel, name="job-cancel"),
    path("jobs/<int:job_id>/duplicate/", jobs.job_duplicate, name="job-duplicate"),
    path("jobs/<int:job_id>/instructions.json", jobs.job_instructions, name="job-instructions"),
    path("jobs/<int:job_id>/download.zip", downloads.job_zip, name="job-zip"),
    path("jobs/<int:job_id>/wizard/photos/", wizard.wizard_photos, name="wizard-photos"),
    path("jobs/<int:job_id>/wizard/instructions/", wizard.wizard_instructions, name="wizard-instructions"),
    path(
        "jobs/<int:job_id>/wizard/instructions/<int:index>/remove/",
        wizard.instruction_remove,
        name="instruction-remove",
    ),
    path("jobs/<int:job_id>/wizard/review/", wizard.wizard_review, name="wizard-review"),
    path("jobs/<int:job_id>/discard/", wizard.job_discard, name="job-discard"),
    path("uploads/<int:upload_id>/note/", wizard.upload_note, name="upload-note"),
    path("uploads/<int:upload_id>/remove/", wizard.upload_remove, name="upload-remove"),
    path("uploads/<int:upload_id>/main/", wizard.upload_make_main, name="upload-make-main"),
    path("uploads/<int:upload_id>/move/", wizard.upload_move, name="upload-move"),
    # Before upload-file, whose <kind> would take "repair".
    path("uploads/<int:upload_id>/repair/", repair.upload_repair, name="upload-repair"),
    path(
        "uploads/<int:upload_id>/repair/<str:layer>/", repair.upload_repair_layer, name="upload-repair-layer"
    ),
    path("uploads/<int:upload_id>/<str:kind>/", downloads.upload_file, name="upload-file"),
    path("results/<int:result_id>/regenerate/", jobs.result_regenerate, name="result-regenerate"),
    path("results/<int:result_id>/<str:kind>/", downloads.result_file, name="result-file"),
    path("presets/", presets.preset_list, name="preset-list"),
    path("presets/new/", presets.preset_edit, name="preset-create"),
    path("presets/<int:preset_id>/", presets.preset_edit, name="preset-edit"),
    path("presets/<int:preset_id>/delete/", presets.preset_delete, name="preset-delete"),
    path("presets/import/", presets.preset_import, name="preset-import"),
    path("presets/export.json", presets.preset_export, name="preset-export"),
    path("webhooks/piktid/<str:key>/", webhooks.piktid_webhook, name="piktid-webhook"),
    path("jobs/<int:job_id>/resubmit/", jobs.job_resubmit, name="job-resubmit"),
    path("jobs/<int:job_id>/review/", jobs.job_review, name="job-review"),
    path("team/settings/", team.team_settings, name="team-settings"),
]
