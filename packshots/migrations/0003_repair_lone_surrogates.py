"""Repair text stored before the text rule: lone UTF-16 surrogates become U+FFFD (issue 10, finding 1).

A JSON import could store "\\ud800" in a preset or a job's instructions on SQLite; every page showing it then
failed to encode. Since then every input refuses such text, so only old rows can hold it. U+FFFD is what
Django shows for undecodable text, and the text rule refuses it, so a repaired preset or draft asks its user
to retype that spot the next time it is saved or started. PostgreSQL never accepted these strings (its JSON
parser refuses them), so there is nothing to scan there. Idempotent.
"""

import re

from django.db import migrations

_SURROGATE = re.compile("[\ud800-\udfff]")
# The JSON columns that hold user text: a preset's instruction and categories, a job's request.
FIELDS = {"Preset": ("instruction", "categories"), "Job": ("request",)}


def _repaired(value):
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    return value


def repair_lone_surrogates(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for model_name, fields in FIELDS.items():
        model = apps.get_model("packshots", model_name)
        for row in model.objects.only("pk", *fields).iterator():
            changes = {field: _repaired(getattr(row, field)) for field in fields}
            if any(changes[field] != getattr(row, field) for field in fields):
                model.objects.filter(pk=row.pk).update(**changes)


class Migration(migrations.Migration):
    dependencies = [("packshots", "0002_piktid_engine")]

    operations = [migrations.RunPython(repair_lone_surrogates, migrations.RunPython.noop)]
