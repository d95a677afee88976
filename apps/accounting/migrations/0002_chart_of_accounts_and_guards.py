"""Seeds the chart of accounts and the ledger row; on PostgreSQL adds triggers refusing UPDATE/DELETE of posted rows.

No SQLite trigger: Django flushes SQLite test databases with DELETE (PostgreSQL uses TRUNCATE, which the row trigger
does not see), so a SQLite trigger would break every transactional test that posts. The model guards hold there.
"""

from django.db import migrations

# code, name, type, normal side, Beancount name, parent code, allows posting
CHART = [
    ("1001", "現金", "asset", "debit", "Assets:Cash", None, True),
    ("1002", "普通預金", "asset", "debit", "Assets:Bank:Ordinary", None, True),
    ("1003", "売掛金（カード・IC未収入金）", "asset", "debit", "Assets:Receivable:CardSettlement", None, True),
    ("1101", "商品", "asset", "debit", "Assets:Inventory", None, True),
    ("1201", "仮払消費税", "asset", "debit", "Assets:ConsumptionTax:Paid", None, True),
    ("2001", "買掛金", "liability", "credit", "Liabilities:AccountsPayable", None, True),
    ("2002", "未払金", "liability", "credit", "Liabilities:AccruedExpenses", None, True),
    ("2101", "仮受消費税", "liability", "credit", "Liabilities:ConsumptionTax:Received", None, True),
    ("3001", "資本金", "equity", "credit", "Equity:Capital", None, True),
    ("3101", "繰越利益剰余金", "equity", "credit", "Equity:RetainedEarnings", None, True),
    ("4001", "売上高", "revenue", "credit", "Income:Sales", None, True),
    ("4101", "売上値引", "revenue", "debit", "Income:SalesDiscounts", None, True),
    ("5001", "売上原価", "expense", "debit", "Expenses:CostOfGoodsSold", None, True),
    ("6001", "販売管理費", "expense", "debit", "Expenses:SGA", None, False),
    ("6010", "機械手数料", "expense", "debit", "Expenses:SGA:MachineFees", "6001", True),
    ("6020", "AI利用料", "expense", "debit", "Expenses:SGA:AIUsage", "6001", True),
    ("6030", "棚卸減耗損", "expense", "debit", "Expenses:SGA:InventoryShrinkage", "6001", True),
    ("6040", "商品廃棄損", "expense", "debit", "Expenses:SGA:InventoryWaste", "6001", True),
]

GUARDED_TABLES = ["accounting_journalentry", "accounting_journalline"]


def seed_chart(apps, schema_editor):
    Account = apps.get_model("accounting", "Account")
    Ledger = apps.get_model("accounting", "Ledger")
    for code, name, account_type, normal_side, beancount_name, parent_code, allows_posting in CHART:
        Account.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "account_type": account_type,
                "normal_side": normal_side,
                "beancount_name": beancount_name,
                "parent": Account.objects.get(code=parent_code) if parent_code else None,
                "allows_posting": allows_posting,
            },
        )
    Ledger.objects.get_or_create(id=1)


def add_guards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION accounting_refuse_change() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'posted journal rows are immutable (%): post a reversing entry instead', TG_TABLE_NAME;
        END;
        $$ LANGUAGE plpgsql;
        """,
        params=None,  # the body's % is PL/pgSQL's placeholder, not the driver's
    )
    for table in GUARDED_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION accounting_refuse_change();"
        )


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in GUARDED_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS accounting_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_initial")]

    operations = [
        migrations.RunPython(seed_chart, migrations.RunPython.noop),
        migrations.RunPython(add_guards, drop_guards),
    ]
