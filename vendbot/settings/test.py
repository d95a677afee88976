"""Tests: fast password hashing, eager Celery, captured e-mail, in-memory channel layer.

DATABASE_URL and REDIS_URL still come from the environment, so `.ci/run` runs the same suite on PostgreSQL.
Tests about Redis itself (readiness, shared limits, fan-out) point at the real Redis explicitly.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")

from .base import *  # noqa: E402,F401,F403
from .base import BASE_DIR, CHANNEL_LAYER_REDIS_HOST, DATABASES, REDIS_URL  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the live daphne process of the browser tests sees the same test database.
    # The pid keeps parallel test runs on one machine apart; Django deletes the file afterwards.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
    # No WAL in tests: its side files would outlive the test database Django deletes.
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
    SQLITE_CHECKPOINT_SECONDS = 0  # no log to checkpoint

# A connection per request and no pool, as before: the pool's connections and the tests' threads would otherwise
# keep connections open past their test (PostgreSQL refuses to drop a test database in use). The servers the benches
# start use the pool.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)

DEBUG = False
# The simulated terminal's books: one file per test process, removed at exit (a test that starts other processes
# passes its file on in the environment).
if "PAYMENT_TERMINAL_DB" in os.environ:
    PAYMENT_TERMINAL_DB = os.environ["PAYMENT_TERMINAL_DB"]
else:
    _terminal_dir = tempfile.mkdtemp(prefix="vendbot-terminal-")
    atexit.register(shutil.rmtree, _terminal_dir, ignore_errors=True)
    PAYMENT_TERMINAL_DB = os.path.join(_terminal_dir, "terminal.sqlite3")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS_CHANNEL_LAYER = {
    "BACKEND": "channels_redis.core.RedisChannelLayer",
    "CONFIG": {"hosts": [CHANNEL_LAYER_REDIS_HOST], "prefix": "vendbot-test"},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vendbot-test",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
LANGUAGE_CODE = "ja"
# A developer's key in .env never reaches a test: the tests that talk to a model point it at the loopback fake.
ANTHROPIC_API_KEY = ""
