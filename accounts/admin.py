from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils import timezone

from accounts.models import Membership, PiktidAccountState, PiktidConnection, Team, User
from accounts.security import cool_off


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(PiktidConnection)
class PiktidConnectionAdmin(admin.ModelAdmin):
    """Read-only: tokens and secrets are never shown; connect and disconnect on the team page or CLI."""

    list_display = [
        "team",
        "token_hint",
        "is_refused",
        "credits",
        "webhook_registered_at",
        "last_delivery_at",
    ]
    list_filter = [("token_invalid_at", admin.EmptyFieldListFilter)]
    search_fields = ["team__name", "team__slug"]
    fields = [
        "team",
        "base_url",
        "token_hint",
        "account_key",
        "connected_by",
        "connected_at",
        "credits",
        "credits_checked_at",
        "token_invalid_at",
        "token_invalid_reason",
        "webhook_url",
        "webhook_registered_at",
        "webhook_secret_rotated_at",
        "last_delivery_at",
        "last_delivery_status",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description="Token refused")
    def is_refused(self, obj: PiktidConnection) -> bool:
        return obj.is_token_invalid

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting here would leave the webhook registered at PiktID


@admin.register(PiktidAccountState)
class PiktidAccountStateAdmin(admin.ModelAdmin):
    """The installation token's (PIKTID_TOKEN) last balance and refusal; delete a row to clear a refusal."""

    list_display = [
        "account_key",
        "credits",
        "credits_checked_at",
        "token_invalid_at",
        "token_invalid_reason",
    ]
    readonly_fields = list_display

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LockoutAdmin(AccessAttemptAdmin):
    """django-axes' failed logins per username and IP, with when a lock-out ends; deleting a row lifts it."""

    list_display = [*AccessAttemptAdmin.list_display, "locked_until"]

    @admin.display(description="Locked until")
    def locked_until(self, attempt: AccessAttempt) -> str:
        if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
            return "—"
        end = attempt.attempt_time + cool_off()
        return timezone.localtime(end).strftime("%Y-%m-%d %H:%M") if end > timezone.now() else "expired"


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LockoutAdmin)
