import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chats", "0003_conversation_public_id")]

    operations = [
        migrations.AlterField(
            model_name="conversation",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
