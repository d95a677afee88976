from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_procurement"), BEAT_MIGRATION]

    # 06:30 JST: proposals wait for staff when they arrive in the morning.
    operations = [
        beat_jobs_operation(
            BeatJob("Daily procurement planning", "inventory.procurement_plan", crontab={"minute": "30", "hour": "6"})
        )
    ]
