from django.db import migrations

TASK = "dashboard.engagement"
TIME_ZONE = "Asia/Tokyo"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Lunch and the end of the working day: both well inside the hours pushes are allowed (09:00–21:00).
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="12,18", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name="LINE engagement pushes", defaults={"task": TASK, "crontab": crontab, "interval": None, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0004_line_push_customer"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
