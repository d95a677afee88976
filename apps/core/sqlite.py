"""SQLite's write-ahead log checkpointed by a thread of its own, not by the request that happens to commit.

In WAL mode SQLite copies the log back into the database file every 1,000 pages, and the connection whose commit
crosses that mark does the copying and, with `synchronous=NORMAL`, waits for the disk: at 200 LINE webhooks a second
every 125th or so answer waited for it, and the ones queued behind it (docs/performance.md). With
`SQLITE_CHECKPOINT_SECONDS` set, the settings turn the automatic checkpoints off (`PRAGMA wal_autocheckpoint=0` on
every connection) and each process that opens the database file runs this thread, which checkpoints it that often
(`PASSIVE`: it copies what no reader still needs and never blocks a writer; sqlite3 releases the GIL while it works).
A process that ends leaves the rest to SQLite, which checkpoints when the last connection closes.
"""

import logging
import os
import sqlite3
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_checkpointed: dict[str, int] = {}  # database file -> the process whose thread checkpoints it
_lock = threading.Lock()


def checkpoint_in_background(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: the first connection a process opens to a SQLite file starts its checkpointer."""
    interval = settings.SQLITE_CHECKPOINT_SECONDS
    if connection.vendor != "sqlite" or not interval or connection.is_in_memory_db():
        return
    path = str(connection.settings_dict["NAME"])
    with _lock:
        if _checkpointed.get(path) == os.getpid():  # a forked child has its parent's entry, not its thread
            return
        _checkpointed[path] = os.getpid()
    threading.Thread(target=_checkpoint_every, args=(path, interval), name="sqlite-checkpoint", daemon=True).start()


def _checkpoint_every(path: str, interval: float) -> None:
    database = sqlite3.connect(path, timeout=interval, isolation_level=None)
    while True:
        time.sleep(interval)
        try:
            database.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # busy or gone for a moment: the next turn tries again
            logger.warning("SQLite checkpoint of %s failed: %s", path, exc)
