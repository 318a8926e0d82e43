from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Packshot Studio admin"
admin.site.site_title = "Packshot Studio"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("packshots.urls")),
    path("", include("batches.urls")),
]
