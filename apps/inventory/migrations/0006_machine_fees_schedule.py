from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_machine_fees"), BEAT_MIGRATION]

    # 06:00 JST, once a day: each fee's month is posted on its due day; a missed day is caught up by the next run.
    operations = [
        beat_jobs_operation(
            BeatJob("Daily machine fee charges", "inventory.machine_fees_charge", crontab={"minute": "0", "hour": "6"})
        )
    ]
