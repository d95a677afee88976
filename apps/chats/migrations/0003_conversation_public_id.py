import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    Conversation = apps.get_model("chats", "Conversation")
    for conversation in Conversation.objects.filter(public_id__isnull=True).only("pk").iterator():
        Conversation.objects.filter(pk=conversation.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    """Conversations get an unguessable public id in three steps (Django's recipe for a unique field on existing
    rows): a nullable column, a random UUID for every row, then unique and required."""

    dependencies = [("chats", "0002_customers_tags_line_events")]

    operations = [
        migrations.AddField(model_name="conversation", name="public_id", field=models.UUIDField(null=True)),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
    ]
