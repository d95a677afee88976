from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0012_checkouts"), BEAT_MIGRATION]

    # Every 10 seconds: phone payments whose webhook did not arrive are polled; due reservations expire.
    operations = [
        beat_jobs_operation(
            BeatJob("Phone payment reconciler", "inventory.checkouts_reconcile", interval=(10, "seconds"))
        )
    ]
