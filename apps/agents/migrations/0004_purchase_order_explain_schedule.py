from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_llm_usage_previews"), BEAT_MIGRATION]

    # 06:45 JST: a quarter of an hour after inventory's planning run (06:30) has made the proposals.
    operations = [
        beat_jobs_operation(
            BeatJob(
                "Procurement agent explains waiting purchase-order proposals",
                "agents.purchase_orders_explain",
                crontab={"minute": "45", "hour": "6"},
            )
        )
    ]
