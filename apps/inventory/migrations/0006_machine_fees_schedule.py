from django.db import migrations

TASK = "inventory.machine_fees_charge"
NAME = "Daily machine fee charges"
TIME_ZONE = "Asia/Tokyo"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 06:00 JST, once a day: each fee's month is posted on its due day; a missed day is caught up by the next run.
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "interval": None, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    """Beat jobs live in the database (django-celery-beat) and are created here, so a new install has them."""

    dependencies = [("inventory", "0005_machine_fees"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
