"""Idempotently create the demo team, user and starter preset library (run by `make run`)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Team, User
from packshots.models import Preset

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "packshot-demo"

STARTER_PRESETS = [
    (
        "Marketplace white cutout",
        ["Marketplace", "Amazon", "Zalando"],
        {
            "style": "white_cutout",
            "framing": "square_packshot",
            "shadow": "contact",
            "options": {"size": "2K", "ar": "1:1", "format": "jpg"},
        },
    ),
    (
        "PDP ghost mannequin 3:4",
        ["PDP"],
        {
            "style": "ghost_mannequin",
            "background": "white studio",
            "framing": "tall_3_4",
            "shadow": "soft_drop",
            "options": {"size": "2K", "ar": "3:4", "format": "jpg"},
        },
    ),
    (
        "Editorial flat lay on linen",
        ["Editorial"],
        {
            "style": "flat_lay",
            "surface": "linen",
            "shadow": "natural",
            "options": {"size": "2K", "ar": "1:1", "format": "jpg"},
        },
    ),
    (
        "Warm campaign banner",
        ["Campaign"],
        {
            "style": "marketing_ready",
            "background": "warm beige studio",
            "color_palette": "sand and terracotta",
            "lighting": "soft warm",
            "shadow": "soft_drop",
            "options": {"size": "2K", "ar": "16:9", "format": "jpg"},
        },
    ),
    (
        "Social story 9:16",
        ["Social"],
        {
            "style": "free",
            "background": "pastel pink to lavender gradient",
            "shadow": "soft_drop",
            "options": {"size": "1K", "ar": "9:16", "format": "png"},
        },
    ),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo team, demo user and starter presets."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": "Demo Studio"})
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(
                DEMO_EMAIL, DEMO_PASSWORD, name="Demo User", is_staff=True, is_superuser=True
            )
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": Membership.Role.OWNER})
        for name, categories, instruction in STARTER_PRESETS:
            Preset.objects.get_or_create(
                team=team,
                name=name,
                defaults={"categories": categories, "instruction": instruction, "author": user},
            )
        self.stdout.write(f"Demo team “{team.name}”: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
