from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0007_purchase_attempts"), BEAT_MIGRATION]

    # Every minute: purchases left pending past their lease (PURCHASE_ATTEMPT_LEASE_SECONDS) are refunded or released.
    operations = [
        beat_jobs_operation(
            BeatJob("Purchase reconciler", "inventory.purchase_attempts_reconcile", interval=(1, "minutes"))
        )
    ]
