"""Beat jobs live in the database (django-celery-beat) and are created by each app's migrations, so a new install
has them. A schedule migration is one `beat_jobs_operation(BeatJob(...), ...)`."""

from dataclasses import dataclass

from django.db import migrations

# The latest django-celery-beat migration every schedule migration depends on.
BEAT_MIGRATION = ("django_celery_beat", "0019_alter_periodictasks_options")
BEAT_TIME_ZONE = "Asia/Tokyo"


@dataclass(frozen=True)
class BeatJob:
    """Either `interval` — (every, period) with period "seconds" or "minutes" — or `crontab` in Tokyo time:
    {"minute", "hour"[, "day_of_week"]} (every day of every month unless day_of_week says otherwise)."""

    name: str
    task: str
    interval: tuple[int, str] | None = None
    crontab: dict | None = None


def beat_jobs_operation(*jobs: BeatJob) -> migrations.RunPython:
    def create(apps, schema_editor):
        interval_schedules = apps.get_model("django_celery_beat", "IntervalSchedule").objects
        crontab_schedules = apps.get_model("django_celery_beat", "CrontabSchedule").objects
        periodic_tasks = apps.get_model("django_celery_beat", "PeriodicTask").objects
        for job in jobs:
            if job.interval:
                every, period = job.interval
                schedule = {
                    "interval": interval_schedules.get_or_create(every=every, period=period)[0],
                    "crontab": None,
                }
            else:
                crontab = crontab_schedules.get_or_create(
                    **{"day_of_week": "*", **job.crontab}, day_of_month="*", month_of_year="*", timezone=BEAT_TIME_ZONE
                )[0]
                schedule = {"crontab": crontab, "interval": None}
            periodic_tasks.update_or_create(name=job.name, defaults={"task": job.task, "enabled": True, **schedule})

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
            task__in=[job.task for job in jobs]
        ).delete()

    return migrations.RunPython(create, remove)
