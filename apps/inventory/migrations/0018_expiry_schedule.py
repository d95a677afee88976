from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("inventory", "0017_lots_allergens_stocktakes"), BEAT_MIGRATION]

    # 00:05 JST: what passed its date at midnight leaves the count and the books before the morning (the sale check
    # refuses it from midnight on).
    operations = [
        beat_jobs_operation(
            BeatJob("Expired stock write-off", "inventory.expired_stock_write_off", crontab={"minute": "5", "hour": "0"})
        )
    ]
