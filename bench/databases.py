"""The benches' databases, migrated without paying for `migrate` where nothing changed.

`migrate` is slow here whatever it has to do: it renders the models of every one of the project's migrations (over
500 field changes) before it knows the database is up to date, 5 s on a kept database with nothing to apply, 15-30 s
for a new one. So:

- `ensure_database(url)` creates a missing PostgreSQL bench database as a copy (`CREATE DATABASE … TEMPLATE`) of one
  migrated once per set of migrations and kept on the server (`vendbot_bench_migrated_<digest>`, the digest below):
  a new machine migrates PostgreSQL once for the purchase, load and payment benches, not once for each;
- `migrate_when_behind()` migrates the configured database only when a migration is unapplied (a kept PostgreSQL
  bench database made before the latest migrations);
- `postgresql_copy()` switches Django's default PostgreSQL database (kept, migrated when behind) to a throwaway copy
  made with `CREATE DATABASE … TEMPLATE`, dropped at the end: what a test database is, without Django migrating it
  from nothing (the payment bench);
- `sqlite_migrated(path)` puts at `path` a copy of a SQLite database migrated once per set of migrations and kept in
  the system's temporary folder, named by a digest of every migration file and of the pinned requirements: the
  throwaway databases of the fan-out, LINE webhook and model-turn benches are copies of one file, which the first of
  them migrates.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str) -> None:
    """The PostgreSQL database at `url`, created migrated if missing (kept between runs)."""
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as admin:
        _create_if_missing(admin, parsed.path.lstrip("/"))


def _exists(admin, name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _create_if_missing(admin, name: str) -> None:
    """Database `name` on the server of `admin` (a maintenance connection), if missing as a copy of the migrated
    template, which is built first if this set of migrations has none yet."""
    if _exists(admin, name):
        return
    template = f"vendbot_bench_migrated_{_migrations_digest()}"
    if not _exists(admin, template):
        _postgresql_template_build(admin, template)
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _postgresql_template_build(admin, template: str) -> None:
    """Migrate a new database and name it `template` only once whole (a bench stopped while migrating leaves none);
    the templates of other sets of migrations go. The migration connects as `admin` does."""
    building = f"{template}_building"
    admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{building}"')
    server = admin.info
    credentials = server.user + (f":{quote(server.password)}" if server.password else "")
    _migrate_fresh(f"postgres://{credentials}@{server.host}:{server.port}/{building}")
    for (old,) in admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'vendbot\\_bench\\_migrated\\_%%' AND datname <> %s",
        [building],
    ).fetchall():
        admin.execute(f'DROP DATABASE "{old}" WITH (FORCE)')
    admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')


def _migrate_fresh(database_url: str) -> None:
    """`manage.py migrate` in a process of its own on the new database at `database_url`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "ENV_FILE": os.devnull,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=900)


def migrate_when_behind() -> None:
    """Apply the unapplied migrations of the configured database, if any (Django set up)."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0)


def _migrations_digest() -> str:
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    for path in sorted(ROOT.glob("apps/*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def sqlite_migrated(path: Path) -> None:
    """A migrated SQLite database at `path` (which must not be open), copied from the kept template."""
    template = Path(tempfile.gettempdir()) / f"vendbot-bench-migrated-{_migrations_digest()}.sqlite3"
    if not template.exists():
        building = template.with_suffix(f".{os.getpid()}.tmp")
        building.unlink(missing_ok=True)
        _migrate_fresh(f"sqlite:///{building}")
        with closing(sqlite3.connect(building)) as database:  # one file to copy: the write-ahead log folded in
            database.execute("PRAGMA journal_mode=DELETE")
        os.replace(building, template)  # whole or not at all: a bench stopped while migrating leaves no template
    shutil.copyfile(template, path)


@contextmanager
def postgresql_copy() -> Iterator[str]:
    """Django's default database (PostgreSQL, Django set up; created if missing) migrated when behind, then swapped
    for a copy of it named `test_<name>` until the block ends; yields the copy's name."""
    from django.conf import settings
    from django.db import connection

    template = connection.settings_dict["NAME"]
    copy = f"test_{template}"
    with _maintenance_connection(connection.settings_dict) as admin:
        _create_if_missing(admin, template)
    migrate_when_behind()
    connection.close()  # PostgreSQL copies a database nobody is connected to
    with _maintenance_connection(connection.settings_dict) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = copy
    try:
        yield copy
    finally:
        connection.close()
        settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = template
        with _maintenance_connection(connection.settings_dict) as admin:
            admin.execute(f'DROP DATABASE "{copy}" WITH (FORCE)')


def _maintenance_connection(database: dict):
    """An autocommit connection to the server's `postgres` database, with the credentials of Django's `database`."""
    import psycopg

    credentials = {"host": database["HOST"], "port": database["PORT"], "user": database["USER"]}
    credentials["password"] = database["PASSWORD"]
    return psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in credentials.items() if v})
