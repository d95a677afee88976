from django.db import migrations

TASK = "agents.purchase_orders_explain"
NAME = "Procurement agent explains waiting purchase-order proposals"
TIME_ZONE = "Asia/Tokyo"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 06:45 JST: a quarter of an hour after inventory's planning run (06:30) has made the proposals.
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone=TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "interval": None, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_llm_usage_previews"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
