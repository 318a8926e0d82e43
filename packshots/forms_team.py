"""Forms of the team settings page (the PiktID connection, the default engine, marketplace profiles)."""

from django import forms
from django.conf import settings

from accounts.models import Team
from packshots.compliance import PROFILE_CHOICES
from packshots.services.connections import MAX_TOKEN_LENGTH


class PiktidConnectForm(forms.Form):
    token = forms.CharField(
        label="PiktID API token",
        max_length=MAX_TOKEN_LENGTH,
        # Never rendered back, not even into a form re-shown with an error.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Create one at app.on-model.com → Profile → Tokens. PiktID checks it before it is saved; "
        "it is stored encrypted and never shown again.",
    )
    webhook_base_url = forms.URLField(
        label="Also register the webhook at (optional)",
        required=False,
        max_length=200,
        help_text="The public address of this site, e.g. https://studio.example.com. Leave blank to register "
        "later; without a webhook, job news arrives by PiktID's notification stream and polling.",
    )


class WebhookForm(forms.Form):
    base_url = forms.URLField(
        label="Public base URL of this site",
        max_length=200,
        help_text="PiktID must reach it. Registering again rotates the secret (the old one stays valid "
        "for a while).",
    )


class BalanceForm(forms.Form):
    """No fields: the button asks PiktID for the balance (and re-checks a refused token)."""


class DisconnectForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes: forget the token and remove the webhook at PiktID",
        error_messages={"required": "Tick the box to confirm."},
    )


class DefaultEngineForm(forms.Form):
    engine = forms.ChoiceField(label="Engine for new jobs", required=False, choices=())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        default = f"Installation default ({settings.PACKSHOT_DEFAULT_ENGINE})"
        self.fields["engine"].choices = [("", default), *Team.Engine.choices]


class MarketplaceProfilesForm(forms.Form):
    profiles = forms.MultipleChoiceField(
        label="Check every output against",
        required=False,  # none ticked: outputs are not checked
        choices=PROFILE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each finished output is checked once against these channels' image rules; the job page "
        "shows pass or fail per channel with the failing rules.",
    )
