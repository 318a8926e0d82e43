"""Shape of HTTP input for the accounts views."""

from django import forms

MAX_ID = 2**63 - 1  # ids are BigAutoField; anything larger cannot be a team


class TeamSwitchForm(forms.Form):
    team = forms.IntegerField(min_value=1, max_value=MAX_ID)
