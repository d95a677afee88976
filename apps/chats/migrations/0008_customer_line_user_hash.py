"""Customers are found by a keyed hash of their LINE user id; the id and the display name are kept only after consent
(existing customers who never consented lose both here)."""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models


def hash_and_forget(apps, schema_editor):
    Customer = apps.get_model("chats", "Customer")
    key = (settings.LINE_USER_HASH_KEY or f"line-user:{settings.SECRET_KEY}").encode()
    for customer in Customer.objects.exclude(line_user_id__isnull=True):
        customer.line_user_hash = hmac.new(key, customer.line_user_id.encode(), hashlib.sha256).hexdigest()
        if not customer.consent_given:
            customer.line_user_id, customer.display_name = None, ""
        customer.save(update_fields=["line_user_hash", "line_user_id", "display_name"])


class Migration(migrations.Migration):
    dependencies = [("chats", "0007_ratings")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="line_user_hash",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                null=True,
                unique=True,
                verbose_name="LINEユーザーIDのハッシュ",
            ),
        ),
        migrations.RunPython(hash_and_forget, migrations.RunPython.noop, elidable=True),
    ]
