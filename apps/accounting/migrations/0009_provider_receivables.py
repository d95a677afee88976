"""1004 売掛金（PayPay） and 1005 売掛金（Stripe）: what each payment provider owes the shop until its payout."""

from django.db import migrations

ACCOUNTS = [
    ("1004", "売掛金（PayPay）", "Assets:Receivable:PayPay"),
    ("1005", "売掛金（Stripe）", "Assets:Receivable:Stripe"),
]


def add_accounts(apps, schema_editor):
    Account = apps.get_model("accounting", "Account")
    for code, name, beancount_name in ACCOUNTS:
        Account.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "account_type": "asset",
                "normal_side": "debit",
                "beancount_name": beancount_name,
                "parent": None,
                "allows_posting": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounting", "0008_entry_number_sequence")]

    operations = [migrations.RunPython(add_accounts, migrations.RunPython.noop)]
