from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("packshots", "0012_job_submit_worker_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="submit_ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
