from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0015_provider_payouts_reconciliation"), BEAT_MIGRATION]

    # Every morning at 04:30 Tokyo time: yesterday's phone payments, provider vs sales vs books.
    operations = [
        beat_jobs_operation(
            BeatJob(
                "Phone payment reconciliation",
                "inventory.payments_reconcile_daily",
                crontab={"minute": "30", "hour": "4"},
            )
        )
    ]
