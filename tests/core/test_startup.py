"""Loading the apps imports no heavy SDK: a `manage.py` command, a worker or a test run starts without paying for
the anthropic SDK, line-bot-sdk or scipy (together about three seconds); the code path that uses one imports it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

HEAVY = ("anthropic", "linebot", "scipy")

# Run in a fresh interpreter: this test process has long since imported everything.
SCRIPT = f"""
import io, json, sys
import django

heavy = {HEAVY!r}
loaded = lambda: [name for name in heavy if name in sys.modules]
django.setup()
seen = {{"setup": loaded()}}
from django.core.management import call_command
call_command("check", stdout=io.StringIO())
seen["check"] = loaded()
call_command("simulate", "--days", "30", "--json", stdout=io.StringIO())
seen["simulate"] = loaded()
from apps.experiments.stats import welch_test
welch_test([1.0, 2.0, 3.0], [2.0, 4.0, 5.0])
seen["welch_test"] = loaded()
print(json.dumps(seen))
"""


def _run_fresh(script: str) -> dict:
    """What `script` printed last, as JSON, run in a fresh interpreter with this test run's settings."""
    return _last_json([sys.executable, "-c", script])


def _last_json(command: list[str]):
    """The last line `command` printed, as JSON, run with this test run's settings in the project's folder."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
    done = subprocess.run(
        command,
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_apps_and_simulating_import_none_of_the_heavy_sdks_until_one_is_used():
    seen = _run_fresh(SCRIPT)
    assert seen["setup"] == [] and seen["check"] == [] and seen["simulate"] == []
    # The way of looking is sound: the first t-test does bring scipy in.
    assert seen["welch_test"] == ["scipy"]


# The admin's modules (and the services, forms and reports they import) load with the URLconf, not at start-up;
# `manage.py check` still finds and checks every model admin.
ADMIN_SCRIPT = """
import io, json, sys
import django

ours = lambda: sorted(name for name in sys.modules if name.startswith("apps.") and ".admin" in name)
django.setup()
from django.core.management import call_command
call_command("simulate", "--days", "30", "--json", stdout=io.StringIO())
seen = {"simulate": ours(), "psycopg": "psycopg" in sys.modules, "redis": "redis" in sys.modules}
call_command("check", stdout=io.StringIO())
from django.contrib import admin
seen["check"] = ours()
seen["registered"] = sorted(model._meta.label for model in admin.site._registry)
print(json.dumps(seen))
"""


def test_admin_modules_load_with_the_urls_or_the_checks_not_with_the_apps():
    seen = _run_fresh(ADMIN_SCRIPT)
    assert seen["simulate"] == []
    assert seen["redis"] is False  # the simulator talks to no Redis: the client loads where one is used
    assert {"apps.inventory.admin", "apps.accounting.admin", "apps.experiments.admin"} <= set(seen["check"])
    assert {"inventory.PurchaseOrder", "inventory.Product", "experiments.ABTest"} <= set(seen["registered"])
    # On SQLite nothing loads the PostgreSQL driver either.
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert seen["psycopg"] is False


def test_a_manage_py_command_runs_with_the_collector_on_and_its_start_up_frozen():
    """manage.py holds the garbage collector off while Django and the command load, then freezes what they made: a
    command that runs for hours (a shell, a migration) must still get its garbage collected."""
    code = "import gc, json; print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))"
    enabled, frozen = _last_json([sys.executable, "manage.py", "shell", "-c", code])
    assert enabled is True
    assert frozen > 100_000  # Django and the apps: the objects no collection needs to walk again
