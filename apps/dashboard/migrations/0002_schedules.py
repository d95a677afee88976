from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial"), BEAT_MIGRATION]

    operations = [
        beat_jobs_operation(
            BeatJob("Restock planning and anomaly detection", "dashboard.monitor", interval=(5, "minutes")),
            BeatJob("Daily close", "dashboard.daily_close", crontab={"minute": "55", "hour": "23"}),
            BeatJob("Retention cleanup", "dashboard.retention_cleanup", crontab={"minute": "30", "hour": "3"}),
            BeatJob(
                "Weekly report", "dashboard.weekly_report", crontab={"minute": "0", "hour": "7", "day_of_week": "1"}
            ),
        )
    ]
