from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("packshots", "0011_engine_event_consumed"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="submit_worker_id",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
