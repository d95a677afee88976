"""6050 決済手数料: the card/IC processor's fee, taken when it settles 売掛金 into the bank."""

from django.db import migrations


def add_account(apps, schema_editor):
    Account = apps.get_model("accounting", "Account")
    Account.objects.update_or_create(
        code="6050",
        defaults={
            "name": "決済手数料",
            "account_type": "expense",
            "normal_side": "debit",
            "beancount_name": "Expenses:SGA:PaymentFees",
            "parent": Account.objects.get(code="6001"),
            "allows_posting": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounting", "0002_chart_of_accounts_and_guards")]

    operations = [migrations.RunPython(add_account, migrations.RunPython.noop)]
