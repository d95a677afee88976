"""Journal entry numbers from a PostgreSQL sequence instead of a counter on the ledger row.

The counter made every posting lock the one ledger row until its transaction ended, so every sale in the company
waited on every other. The sequence continues after the highest number posted; a rolled-back posting leaves a gap.
SQLite has no sequences (and one writer at a time): there the number is the highest so far plus one.
"""

from django.db import migrations

SEQUENCE = "accounting_journal_entry_number"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} AS bigint MINVALUE 1")
    schema_editor.execute(
        f"SELECT setval('{SEQUENCE}', GREATEST((SELECT COALESCE(MAX(number), 0) FROM accounting_journalentry),"
        " (SELECT last_entry_number FROM accounting_ledger WHERE id = 1), 1),"
        " EXISTS (SELECT 1 FROM accounting_journalentry))"
    )


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


def restore_counter(apps, schema_editor):
    Ledger = apps.get_model("accounting", "Ledger")
    JournalEntry = apps.get_model("accounting", "JournalEntry")
    last = JournalEntry.objects.order_by("-number").values_list("number", flat=True).first() or 0
    Ledger.objects.filter(pk=1).update(last_entry_number=last)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0007_alter_account_account_type_and_more")]

    operations = [
        migrations.RunPython(create_sequence, drop_sequence),
        migrations.RunPython(migrations.RunPython.noop, restore_counter, elidable=True),
        migrations.RemoveField(model_name="ledger", name="last_entry_number"),
    ]
