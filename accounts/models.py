from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from accounts import crypto


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address; belongs to one or more teams."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Team(models.Model):
    class Engine(models.TextChoices):
        LOCAL = "local", "Local (offline)"
        PIKTID = "piktid", "PiktID"

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    default_engine = models.CharField(
        max_length=20,
        choices=Engine.choices,
        blank=True,
        default="",
        help_text="Engine for new jobs; blank = the installation default (PACKSHOT_DEFAULT_ENGINE).",
    )
    # Keys of packshots.compliance.PROFILES every finished output is checked against (Team settings).
    marketplace_profiles = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_default_engine(self) -> str:
        return self.default_engine or settings.PACKSHOT_DEFAULT_ENGINE


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="unique_membership")]
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_edit(self) -> bool:
        """Viewers read; everyone else may create and change the team's work."""
        return self.role != self.Role.VIEWER

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class PiktidConnection(models.Model):
    """A team's PiktID account: its token and webhook secrets, encrypted (accounts.crypto), never shown back.

    `account_key` fingerprints the token: teams saving the same token share one PiktID account, so one
    rate limit and one webhook (PiktID keeps one webhook per user).
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="piktid_connection")
    base_url = models.URLField(max_length=300)
    token_encrypted = models.TextField()
    account_key = models.CharField(max_length=64, db_index=True)
    token_hint = models.CharField(max_length=4, blank=True, help_text="Last characters of the token.")
    webhook_key = models.CharField(max_length=64, unique=True, help_text="Opaque part of the webhook URL.")
    webhook_secret_encrypted = models.TextField(blank=True)
    previous_webhook_secret_encrypted = models.TextField(blank=True)
    webhook_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_registered_at = models.DateTimeField(null=True, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_delivery_status = models.CharField(max_length=100, blank=True)
    credits = models.FloatField(null=True, blank=True)
    credits_checked_at = models.DateTimeField(null=True, blank=True)
    token_invalid_at = models.DateTimeField(null=True, blank=True)
    token_invalid_reason = models.CharField(max_length=200, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)

    # Every column holding ciphertext: what `manage.py rotate_field_keys` re-encrypts.
    ENCRYPTED_FIELDS = ("token_encrypted", "webhook_secret_encrypted", "previous_webhook_secret_encrypted")

    class Meta:
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"PiktID connection of {self.team}"

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted)

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_encrypted)

    @property
    def previous_webhook_secret(self) -> str:
        return crypto.decrypt(self.previous_webhook_secret_encrypted)

    @property
    def is_token_invalid(self) -> bool:
        return self.token_invalid_at is not None


class PiktidAccountState(models.Model):
    """What we know of a PiktID account no team row holds: the installation's PIKTID_TOKEN.

    Keyed by the token's fingerprint, so setting a new PIKTID_TOKEN starts from a clean state by itself.
    It lives in the database (not a cache) because the worker that sees a 401 and the web process that
    shows it are different processes.
    """

    account_key = models.CharField(max_length=64, unique=True)
    credits = models.FloatField(null=True, blank=True)
    credits_checked_at = models.DateTimeField(null=True, blank=True)
    token_invalid_at = models.DateTimeField(null=True, blank=True)
    token_invalid_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"PiktID account {self.account_key[:12]}…"
