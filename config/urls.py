from django.contrib import admin
from django.urls import include, path

from packshots.views import health

admin.site.site_header = "Packshot Studio admin"
admin.site.site_title = "Packshot Studio"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),  # unauthenticated, GET only (packshots/views/health.py)
    path("accounts/", include("accounts.urls")),
    path("", include("packshots.urls")),
    path("", include("batches.urls")),
]
