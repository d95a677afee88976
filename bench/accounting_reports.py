"""Times the heavy accounting reports on 1,000,000 journal lines in PostgreSQL.

    .venv/bin/python bench/accounting_reports.py [--lines 1000000]

Creates a throwaway database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vb_bench_accounting),
migrates the accounting app into it, and seeds it with COPY. That COPY is this benchmark's own seeding of a database it
drops at the end; the product writes journal lines only through `journal_entry_post`. Each seeded entry is a balanced
sale (現金 / 売上高 / 仮受消費税 and 売上原価 / 商品, five lines) for one of 200 products over two years.
Prints the seconds for a trial balance, an income statement and product profitability (a cold and a warm run).
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vb_bench_accounting"
LINES_PER_ENTRY = 5
PRODUCTS = 200
START = datetime.date(2025, 1, 1)
DAYS = 730


def admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def recreate_database(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(lines: int) -> None:
    from django.db import connection

    from apps.accounting import chart
    from apps.accounting.models import Account

    accounts = dict(Account.objects.values_list("code", "id"))
    rng = random.Random(6)  # noqa: S311 - reproducible bench data
    entries = lines // LINES_PER_ENTRY
    now = datetime.datetime.now(datetime.UTC)
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor().copy(
            "COPY accounting_journalentry (id, number, date, memo, kind, source_id, created_at) FROM STDIN"
        ) as copy:
            for number in range(1, entries + 1):
                date = START + datetime.timedelta(days=number * DAYS // entries)
                copy.write_row((number, number, date, "bench sale", "sale", "", now))
        with raw.cursor().copy(
            "COPY accounting_journalline (entry_id, account_id, date, debit, credit, product_ref, product_label,"
            " tax_rate) FROM STDIN"
        ) as copy:
            for number in range(1, entries + 1):
                date = START + datetime.timedelta(days=number * DAYS // entries)
                product = rng.randrange(PRODUCTS)
                ref, label, rate = f"SKU{product:03d}", f"商品{product}", 8 if product % 3 else 10
                gross = rng.randrange(100, 2000)
                tax = gross * rate // (100 + rate)
                cost = gross * rng.randrange(40, 80) // 100
                copy.write_row((number, accounts[chart.CASH], date, gross, 0, "", "", None))
                copy.write_row((number, accounts[chart.SALES], date, 0, gross - tax, ref, label, rate))
                copy.write_row((number, accounts[chart.TAX_RECEIVED], date, 0, tax, "", "", rate))
                copy.write_row((number, accounts[chart.COST_OF_GOODS_SOLD], date, cost, 0, ref, label, None))
                copy.write_row((number, accounts[chart.INVENTORY], date, 0, cost, ref, label, None))
        cursor.execute("ANALYZE accounting_journalentry")
        cursor.execute("ANALYZE accounting_journalline")


def timed(label: str, report) -> None:
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        report()
        runs.append(time.perf_counter() - started)
    print(f"{label:<24} cold {runs[0]:.3f} s   warm {runs[1]:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.accounting.selectors import income_statement, product_profitability, trial_balance

    try:
        call_command("migrate", "accounting", verbosity=0)
        started = time.perf_counter()
        seed(args.lines)
        count = connection.cursor()
        count.execute("SELECT count(*) FROM accounting_journalline")
        print(f"seeded {count.fetchone()[0]:,} journal lines in {time.perf_counter() - started:.1f} s")
        end = START + datetime.timedelta(days=DAYS - 1)
        year_start = end.replace(month=1, day=1)
        timed("trial balance", lambda: trial_balance(as_of=end))
        timed("income statement (1 yr)", lambda: income_statement(date_from=year_start, date_to=end))
        timed("product profitability", lambda: product_profitability(date_from=year_start, date_to=end))
    finally:
        connection.close()
        drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
