from django.urls import path

from batches import views

app_name = "batches"

urlpatterns = [
    path("batches/", views.batch_list, name="batch-list"),
    path("batches/new/zip/", views.batch_new_zip, name="batch-new-zip"),
    path("batches/new/files/", views.batch_new_files, name="batch-new-files"),
    path("batches/preview/", views.batch_preview, name="batch-preview"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:batch_id>/files/", views.batch_files, name="batch-files"),
    path("batches/<int:batch_id>/files/done/", views.batch_files_done, name="batch-files-done"),
    path("batches/<int:batch_id>/start/", views.batch_start, name="batch-start"),
    path("batches/<int:batch_id>/retry/", views.batch_retry, name="batch-retry"),
    path("batches/<int:batch_id>/download.zip", views.batch_zip, name="batch-zip"),
    path("credits/", views.credit_usage, name="credits"),
    path("credits/budget/", views.credit_budget, name="credit-budget"),
]
