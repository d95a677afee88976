from django.db import migrations, models
from django.db.models import F

from apps.core.beat import BEAT_MIGRATION, BeatJob, beat_jobs_operation


def mark_sales_booked(apps, schema_editor):
    # Every sale so far was booked in its own transaction (or predates the books): none is left for the bookkeeper.
    apps.get_model("inventory", "Sale").objects.exclude(status__in=["pending", "failed"]).update(
        booked_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [("inventory", "0019_receipt_purchase_order"), BEAT_MIGRATION]

    operations = [
        migrations.AddField(
            model_name="sale",
            name="booked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="記帳日時"),
        ),
        migrations.RunPython(mark_sales_booked, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="sale",
            index=models.Index(
                condition=models.Q(
                    ("booked_at__isnull", True), ("status__in", ["completed", "partially_refunded", "refunded"])
                ),
                fields=["id"],
                name="sale_to_book",
            ),
        ),
        # Every 5 seconds: the sales completed since are posted to the books (one entry each).
        beat_jobs_operation(BeatJob("Sales to the books", "inventory.sales_book", interval=(5, "seconds"))),
    ]
