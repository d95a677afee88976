"""The backup procedure of docs/operations.md ("Backups and restore"), run as written: pg_dump -Fc of a busy shop,
pg_restore into a fresh database, and the restored shop has the same books, stock and conversations."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.inventory.models import Machine
from apps.inventory.services import device_token_issue
from tests.processes import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url(name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"


def fingerprint_of(name: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vendbot.settings.base", "DEBUG": "1"}
    env["DATABASE_URL"] = database_url(name)
    result = subprocess.run(
        [sys.executable, "-m", "tests.runtime.fingerprint"], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return json.loads(result.stdout)


def busy_day(process_env: dict) -> None:
    """The demo shop, made as `make run` makes it (`manage.py seed_demo`, its tasks queued to a broker of its own),
    then a few more purchases and chats at its tablet through the API."""
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=process_env, check=True, capture_output=True
    )
    tablet = APIClient()
    tablet.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=Machine.objects.get(code='HQ-1F'))}")
    for n in range(3):
        answer = tablet.post(
            "/api/machines/HQ-1F/chat/", {"conversation": None, "message": "お茶ありますか？"}, format="json"
        )
        assert answer.status_code == 200, answer.content
        products = tablet.get("/api/machines/HQ-1F/products/").json()
        slot = next(p["slot"] for p in products if p["available"])
        bought = tablet.post(
            "/api/machines/HQ-1F/purchases/",
            {"items": [{"slot": slot, "quantity": 1}], "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"backup-{n}",
        )
        assert bought.status_code == 201, bought.content


def test_a_dump_restored_into_a_fresh_database_has_the_same_books_stock_and_conversations(tmp_path, process_env):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump/pg_restore not found: install the PostgreSQL client (apt-get install postgresql-client)")
    busy_day(process_env)
    original = connection.settings_dict["NAME"]
    restored = f"{original}_restored"
    dump = tmp_path / "vendbot.dump"
    connection.close()  # the dump reads a consistent snapshot either way; the drop below needs no session of ours

    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-d", database_url(original), "-f", str(dump)], check=True)
    subprocess.run(["dropdb", "--if-exists", "--maintenance-db", database_url("postgres"), restored], check=True)
    subprocess.run(["createdb", "--maintenance-db", database_url("postgres"), "-T", "template0", restored], check=True)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", database_url(restored), str(dump)], check=True
        )
        before, after = fingerprint_of(original), fingerprint_of(restored)
    finally:
        subprocess.run(["dropdb", "--if-exists", "--maintenance-db", database_url("postgres"), restored], check=True)

    totals = before["trial_balance"]["totals"]
    assert totals["debit_total"] == totals["credit_total"] > 0  # books with something in them, balanced
    assert len(before["sales"]) > 3 and len(before["messages"]) >= 6 and before["stock_problems"] == []
    assert after == before
