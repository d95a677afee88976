from django.db import migrations

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles"), BEAT_MIGRATION]

    operations = [
        beat_jobs_operation(BeatJob("Worker heartbeat", "core.record_worker_heartbeat", interval=(15, "seconds")))
    ]
