from django.db import migrations

# (name, task, schedule): an interval in minutes, or a crontab in the beat's time zone (CELERY_TIMEZONE, Asia/Tokyo).
JOBS = [
    ("Restock planning and anomaly detection", "dashboard.monitor", {"minutes": 5}),
    ("Daily close", "dashboard.daily_close", {"minute": "55", "hour": "23", "day_of_week": "*"}),
    ("Retention cleanup", "dashboard.retention_cleanup", {"minute": "30", "hour": "3", "day_of_week": "*"}),
    ("Weekly report", "dashboard.weekly_report", {"minute": "0", "hour": "7", "day_of_week": "1"}),
]
TIME_ZONE = "Asia/Tokyo"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, when in JOBS:
        if "minutes" in when:
            interval, _ = IntervalSchedule.objects.get_or_create(every=when["minutes"], period="minutes")
            schedule = {"interval": interval, "crontab": None}
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                day_of_month="*", month_of_year="*", timezone=TIME_ZONE, **when
            )
            schedule = {"crontab": crontab, "interval": None}
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "enabled": True, **schedule})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[job[1] for job in JOBS]).delete()


class Migration(migrations.Migration):
    """Beat jobs live in the database (django-celery-beat) and are created here, so a new install has them."""

    dependencies = [("dashboard", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
