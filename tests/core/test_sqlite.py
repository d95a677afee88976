"""SQLite's write-ahead log is copied into the database file by a background thread of the process, while the
connections that commit never checkpoint (apps/core/sqlite.py)."""

import time

import pytest
from django.db.utils import ConnectionHandler

# pytest-django lets a test open any connection only with the mark; these open their own SQLite files.
pytestmark = pytest.mark.django_db


def test_the_logged_writes_reach_the_database_file_without_the_writer_checkpointing(tmp_path, settings):
    settings.SQLITE_CHECKPOINT_SECONDS = 0.05
    path = tmp_path / "shop.sqlite3"
    options = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"}
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}}
    )
    database = handler["default"]
    try:
        with database.cursor() as cursor:
            cursor.execute("CREATE TABLE event (body BLOB)")
            for _ in range(200):
                cursor.execute("INSERT INTO event (body) VALUES (randomblob(4000))")
        deadline = time.monotonic() + 10
        while path.stat().st_size < 800_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= 800_000  # the 200 rows, copied out of the log by the checkpointer
        with database.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM event")
            assert cursor.fetchone() == (200,)
    finally:
        database.close()


def test_without_an_interval_sqlite_checkpoints_as_it_always_did(tmp_path, settings):
    settings.SQLITE_CHECKPOINT_SECONDS = 0
    path = tmp_path / "shop.sqlite3"
    options = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"}
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}}
    )
    database = handler["default"]
    try:
        with database.cursor() as cursor:
            cursor.execute("CREATE TABLE event (body BLOB)")
            for _ in range(200):
                cursor.execute("INSERT INTO event (body) VALUES (randomblob(4000))")
        time.sleep(0.5)
        assert path.stat().st_size < 800_000  # still in the log: no thread copied it
    finally:
        database.close()
