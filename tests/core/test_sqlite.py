"""SQLite's write-ahead log is copied into the database file by a background thread of the process, while the
connections that commit never checkpoint (apps/core/sqlite.py)."""

import time
from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler

# pytest-django lets a test open any connection only with the mark; these open their own SQLite files.
pytestmark = pytest.mark.django_db

ROWS_BYTES = 800_000  # 200 rows of 4,000 bytes, once in the database file


def file_size_after_writing(path: Path, *, wait_seconds: float) -> int:
    """Write 200 rows through a Django connection that never checkpoints itself (as the settings open them), then
    give the checkpointer up to `wait_seconds` to copy them into the file; the file's size then."""
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
        deadline = time.monotonic() + wait_seconds
        while path.stat().st_size < ROWS_BYTES and time.monotonic() < deadline:
            time.sleep(0.05)
        with database.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM event")
            assert cursor.fetchone() == (200,)
        return path.stat().st_size
    finally:
        database.close()


def test_the_logged_writes_reach_the_database_file_without_the_writer_checkpointing(tmp_path, settings):
    settings.SQLITE_CHECKPOINT_SECONDS = 0.05
    assert file_size_after_writing(tmp_path / "shop.sqlite3", wait_seconds=10) >= ROWS_BYTES


def test_without_an_interval_no_thread_copies_the_log(tmp_path, settings):
    settings.SQLITE_CHECKPOINT_SECONDS = 0
    assert file_size_after_writing(tmp_path / "shop.sqlite3", wait_seconds=0.5) < ROWS_BYTES
