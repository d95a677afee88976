from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0004_line_push_customer"), BEAT_MIGRATION]

    # Lunch and the end of the working day: both well inside the hours pushes are allowed (09:00–21:00).
    operations = [
        beat_jobs_operation(
            BeatJob("LINE engagement pushes", "dashboard.engagement", crontab={"minute": "0", "hour": "12,18"})
        )
    ]
