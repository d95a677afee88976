"""Settings shared by every environment; all configuration comes from the environment (django-environ).

`production.py` adds the HTTPS hardening, `test.py` the test-only switches. Every variable read here is listed,
with a dummy value, in `.env.example`.
"""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's `.env` (made by `make run`) fills in what the real environment does not set.
env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (required when DEBUG is off), "
            "or set DEBUG=1 for local development."
        )
    # Local development without .env: a throwaway key (sessions end when the process restarts).
    SECRET_KEY = secrets.token_urlsafe(50)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # `runserver` on daphne, ahead of staticfiles' own; daphne's app itself would import its server at start-up.
    "vendbot.devserver",
    "vendbot.admin_config.AdminConfig",  # the admin, discovered with the URLconf (see the module)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    # Our apps, in import order: each may import only those above it (dashboard and experiments only read).
    "apps.core",
    "apps.accounting",
    "apps.inventory",
    "apps.agents",
    "apps.chats",
    "apps.dashboard",
    "apps.experiments",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "vendbot.urls"
ASGI_APPLICATION = "vendbot.asgi.application"
WSGI_APPLICATION = "vendbot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Connections: daphne runs each request on one of its kept request threads, as many as it ever had requests at once
# (apps/core/asgi.py), so persistent connections (CONN_MAX_AGE), one per thread, would follow that peak. On PostgreSQL
# each process keeps a pool instead (psycopg_pool, DB_POOL_MIN_SIZE..DB_POOL_MAX_SIZE connections; a request waits up to
# DB_POOL_TIMEOUT seconds for one); a new connection per request cost as much as a whole bare request (≈2.8 ms).
# DB_POOL_MAX_SIZE=0 turns the pool off (then DB_CONN_MAX_AGE applies). Measured in docs/performance.md.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("DB_CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a pool that checks a connection without a round trip (apps/core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "apps.core.postgresql"
if DATABASES["default"]["ENGINE"] == "apps.core.postgresql" and DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections alongside a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=2), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
# SQLite's log is copied back into the file by a thread of each process every SQLITE_CHECKPOINT_SECONDS, instead of by
# the commit that crosses SQLite's mark, which then waits for the disk (apps/core/sqlite.py); 0: SQLite's own way.
SQLITE_CHECKPOINT_SECONDS = env.float("SQLITE_CHECKPOINT_SECONDS", default=1.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process, the worker and beat share one SQLite file. In WAL mode,
    # synchronous=NORMAL (SQLite's advice for WAL) flushes to disk at checkpoints, not at every commit: a crash of the
    # process loses nothing, a power cut may lose the last commits, and the file is never corrupted.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            + (" PRAGMA wal_autocheckpoint=0;" if SQLITE_CHECKPOINT_SECONDS else ""),
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vendbot",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# channels_redis waits for messages with a 5 s blocking BZPOPMIN; redis-py's default socket timeout is also 5 s, which
# made every idle socket's consumer die with "Timeout reading". The timeout must stay above the blocking wait.
CHANNEL_LAYER_REDIS_HOST = {"address": REDIS_URL, "socket_timeout": 15}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [CHANNEL_LAYER_REDIS_HOST], "prefix": "vendbot"},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="ja")
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Media (product pictures, chat images) go through Django's storage API: MEDIA_ROOT on the local disk by default; with
# MEDIA_S3_BUCKET set, a private S3-compatible bucket (AWS S3, MinIO) that every replica shares, served through signed
# URLs that expire. Blank keys leave the credentials to boto3's own chain (an IAM role, AWS_* variables).
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_S3_BUCKET:
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default="") or None,
            # "path" for MinIO and most S3-compatible services; "auto" lets boto3 choose (AWS S3).
            "addressing_style": env.str("MEDIA_S3_ADDRESSING_STYLE", default="auto"),
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": env.int("MEDIA_S3_URL_EXPIRE_SECONDS", default=3600),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="vendbot@example.invalid")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.VendBotAutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, at most DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB; 413 above) and 64 levels deep (400 deeper).
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.BoundedJSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VendBot API",
    "DESCRIPTION": 'The shop\'s machines, purchases and chats. Errors are {"error": {code, message, details}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: the machines have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis broker, late acknowledgement so a crashed worker's task is redelivered, JSON only.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "vendbot.broker:Transport"  # kombu's, keeping one client per channel (see there)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With acks_late a task's message stays in Redis, unacknowledged, until the task ends. SIGTERM (a deploy) is Celery's
# warm shutdown: the worker takes no new task, finishes the running ones, and the messages it had not started go
# back to the queue. A worker that vanished without that (SIGKILL, a lost node) has its task redelivered after this
# timeout, which must stay above the hard time limit and the longest retry countdown (retry_backoff_max, 600 s): a
# task still running or waiting for its retry would otherwise be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# On SIGTERM the web server (vendbot/server.py) stops accepting, closes sockets with 1012 and gives the requests
# already running this long to finish. Keep it below Kubernetes' terminationGracePeriodSeconds minus the preStop sleep.
SHUTDOWN_DRAIN_SECONDS = env.float("SHUTDOWN_DRAIN_SECONDS", default=20.0)

# /readyz fails when the worker's last heartbeat is older than this.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = 60

# Keyed hash for pseudonymising customer identifiers (LINE user ids) in logs; defaults to a key derived from SECRET_KEY.
LOG_PSEUDONYM_KEY = env.str("LOG_PSEUDONYM_KEY", default="")

# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset, /metrics is a 404 unless DEBUG is on.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "apps.core.logging.RequestIdFilter"},
        "redact": {"()": "apps.core.logging.RedactionFilter"},
    },
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            # Filters sit on the handler so records propagated from every logger pass through them.
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "daphne": {"level": "INFO"},
    },
}
# Keep our JSON, redacting handler in the worker too instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Shop: payment terminal and dispenser (simulated by default, so the shop runs with no payment account) ---
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="apps.inventory.integrations.payments.SimulatedTerminal")
PAYMENT_DECLINE_RATE = env.float("PAYMENT_DECLINE_RATE", default=0.0)
PAYMENT_LATENCY_MS = env.int("PAYMENT_LATENCY_MS", default=0)
# The simulated terminal's own books (a stand-in for the provider's): every process of one install shares the file.
PAYMENT_TERMINAL_DB = env.str("PAYMENT_TERMINAL_DB", default=str(BASE_DIR / "var" / "simulated-terminal.sqlite3"))
# A purchase still pending this long after it was recorded was abandoned by its process: the reconciler settles it.
PURCHASE_ATTEMPT_LEASE_SECONDS = env.int("PURCHASE_ATTEMPT_LEASE_SECONDS", default=120)
DISPENSER = env.str("DISPENSER", default="apps.inventory.integrations.dispenser.SimulatedDispenser")
DISPENSER_JAM_RATE = env.float("DISPENSER_JAM_RATE", default=0.0)

# --- Shop: real payments (docs/payments.md). Which methods the tablet offers: "terminal" (the PAYMENT_GATEWAY card/IC
# terminal), "paypay" (dynamic QR), "stripe" (card on the customer's phone through Stripe's hosted page).
PAYMENT_PROVIDERS = env.list("PAYMENT_PROVIDERS", default=["terminal"])
# Production refuses to start with the simulated terminal offered unless this is set (a demo install).
PAYMENTS_ALLOW_SIMULATED = env.bool("PAYMENTS_ALLOW_SIMULATED", default=False)
# How long a reservation waits for its QR payment before the stock goes back and the code is deleted.
PAYMENT_QR_EXPIRY_SECONDS = env.int("PAYMENT_QR_EXPIRY_SECONDS", default=180)
PAYPAY_API_KEY = env.str("PAYPAY_API_KEY", default="")
PAYPAY_API_SECRET = env.str("PAYPAY_API_SECRET", default="")
PAYPAY_MERCHANT_ID = env.str("PAYPAY_MERCHANT_ID", default="")
PAYPAY_API_BASE_URL = env.str("PAYPAY_API_BASE_URL", default="https://apigw.sandbox.paypay.ne.jp")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE_URL = env.str("STRIPE_API_BASE_URL", default="https://api.stripe.com")
# Where Stripe's hosted page sends the customer's phone after paying (a plain thank-you page of ours).
PAYMENTS_PUBLIC_BASE_URL = env.str("PAYMENTS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# A LINE purchase is dispensed by a pickup code typed at the machine, valid this long after payment.
PICKUP_CODE_VALID_SECONDS = env.int("PICKUP_CODE_VALID_SECONDS", default=900)

# --- Shop: procurement (the agent proposes purchase orders, staff approve them in the admin) ---
# Orders above this (before tax) or over the monthly budget need a Manager's approval. One office machine's routine
# orders are ¥400–4,000; one above ¥5,000 (a backlog, a new product line) is worth a second look.
PURCHASE_ORDER_MANAGER_THRESHOLD_YEN = env.int("PURCHASE_ORDER_MANAGER_THRESHOLD_YEN", default=5_000)
PROCUREMENT_MONTHLY_BUDGET_YEN = env.int("PROCUREMENT_MONTHLY_BUDGET_YEN", default=300_000)
# Days of sales that stock plus the proposed order should cover once the goods arrive.
PROCUREMENT_TARGET_COVER_DAYS = env.int("PROCUREMENT_TARGET_COVER_DAYS", default=10)
# Suppliers below this reliability score (0-100) are proposed only when no reliable one offers the product.
PROCUREMENT_MIN_RELIABILITY = env.int("PROCUREMENT_MIN_RELIABILITY", default=70)

# --- Accounting ---
# The day every fiscal year ends, MM-DD ("02-29" is the end of February in every year). March 31 by default: the
# books are a company's (資本金, 繰越利益剰余金; a sole proprietor closes on 12-31) and March is the most common
# year-end of Japanese companies. Changed later, the next year runs from the last closed year-end (変則決算).
FISCAL_YEAR_END_MONTH_DAY = env.str("FISCAL_YEAR_END_MONTH_DAY", default="03-31")
# A manual journal entry (振替伝票) larger than this (its debit total) waits for a second Manager's approval.
MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN = env.int("MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN", default=100_000)
# 簡易課税: the deemed purchase rate (みなし仕入率, %) of the shop's business type; 80 is 第二種事業 (retail to
# consumers), which an office shop selling to people is.
CONSUMPTION_TAX_DEEMED_PURCHASE_RATE = env.int("CONSUMPTION_TAX_DEEMED_PURCHASE_RATE", default=80)
# The seller on receipts (適格簡易請求書): its name and its invoice registration number (T + 13 digits, checked with
# its check digit at start-up; empty: receipts say the shop is not a registered issuer).
INVOICE_ISSUER_NAME = env.str("INVOICE_ISSUER_NAME", default="VendBot")
INVOICE_REGISTRATION_NUMBER = env.str("INVOICE_REGISTRATION_NUMBER", default="")
# Account names in the accounting-software exports, per software, over the defaults in apps/accounting/exports.py:
# JSON such as {"yayoi": {"6020": "通信費"}, "freee": {...}, "moneyforward": {...}}.
ACCOUNTING_EXPORT_ACCOUNT_NAMES = env.json("ACCOUNTING_EXPORT_ACCOUNT_NAMES", default={})

# --- Chats: LINE Messaging API and the tablet ---
LINE_CHANNEL_SECRET = env.str("LINE_CHANNEL_SECRET", default="")
LINE_CHANNEL_ACCESS_TOKEN = env.str("LINE_CHANNEL_ACCESS_TOKEN", default="")
# Where the Messaging API (and its content host) answer; tests point both at a loopback fake.
LINE_API_BASE_URL = env.str("LINE_API_BASE_URL", default="https://api.line.me")
LINE_DATA_API_BASE_URL = env.str("LINE_DATA_API_BASE_URL", default="https://api-data.line.me")
# The machine LINE customers buy from (default: the first active machine by code).
LINE_MACHINE_CODE = env.str("LINE_MACHINE_CODE", default="")
# A worker holds a LINE event this long per step; past it (the worker died) the re-queue job hands it to another.
LINE_EVENT_LEASE_SECONDS = env.int("LINE_EVENT_LEASE_SECONDS", default=120)
# First wait between retries of a failed LINE API call (doubling; a Retry-After from LINE wins).
LINE_RETRY_BASE_WAIT_SECONDS = env.float("LINE_RETRY_BASE_WAIT_SECONDS", default=0.5)
# A tablet left alone this long starts a fresh conversation, so the next person sees nothing of the last.
TABLET_IDLE_RESET_SECONDS = env.int("TABLET_IDLE_RESET_SECONDS", default=90)
# The receipt after a purchase stays this long, then the tablet resets itself for the next customer.
TABLET_RECEIPT_RESET_SECONDS = env.int("TABLET_RECEIPT_RESET_SECONDS", default=15)
# A web process remembers which machine a device token belongs to for this long (one query less per tablet
# request); a token replaced or a machine changed in another process is seen there within this time, in its own at
# once. A purchase reads the machine's token and status again with its slots: a replaced token never buys.
DEVICE_TOKEN_CACHE_SECONDS = env.float("DEVICE_TOKEN_CACHE_SECONDS", default=10.0)
# How long the one-time tablet link of `manage.py tablet_link` (printed by `make run`) can be used.
TABLET_PAIRING_CODE_MINUTES = env.int("TABLET_PAIRING_CODE_MINUTES", default=30)

# --- Agents: the model (Anthropic Messages API) ---
# No key: every agent answers with the offline provider. Any Messages-compatible server can stand in (base URL).
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
# Model per agent kind: a small one for shop chat, a larger one for procurement decisions; near the budget every
# agent steps down to LLM_MODEL_STEP_DOWN.
LLM_MODELS = {
    "shopkeeper": env.str("LLM_MODEL_SHOPKEEPER", default="claude-haiku-4-5"),
    "procurement": env.str("LLM_MODEL_PROCUREMENT", default="claude-sonnet-4-6"),
    "analytics": env.str("LLM_MODEL_ANALYTICS", default="claude-haiku-4-5"),
}
LLM_MODEL_STEP_DOWN = env.str("LLM_MODEL_STEP_DOWN", default="claude-haiku-4-5")
LLM_STEP_DOWN_AT_PERCENT = env.int("LLM_STEP_DOWN_AT_PERCENT", default=90)
# Seconds from the customer's message to the model's first words before the offline answer is given instead.
LLM_FIRST_WORDS_DEADLINE_SECONDS = {
    "shopkeeper": env.float("LLM_DEADLINE_SHOPKEEPER_SECONDS", default=5.0),
    "procurement": env.float("LLM_DEADLINE_PROCUREMENT_SECONDS", default=60.0),
    "analytics": env.float("LLM_DEADLINE_ANALYTICS_SECONDS", default=30.0),
}
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=3.0)
LLM_REQUEST_TIMEOUT_SECONDS = env.float("LLM_REQUEST_TIMEOUT_SECONDS", default=60.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=3)
LLM_RETRY_BASE_SECONDS = env.float("LLM_RETRY_BASE_SECONDS", default=0.5)
LLM_RETRY_MAX_SECONDS = env.float("LLM_RETRY_MAX_SECONDS", default=8.0)
LLM_BREAKER_FAILURES = env.int("LLM_BREAKER_FAILURES", default=5)
LLM_BREAKER_RESET_SECONDS = env.float("LLM_BREAKER_RESET_SECONDS", default=30.0)
# Yen per million tokens [input, output] per model. Configurable (JSON in the environment): these defaults are the
# list prices in dollars at 150 yen, not a contract.
LLM_PRICES_YEN_PER_MILLION = env.json(
    "LLM_PRICES_YEN_PER_MILLION",
    default={"claude-haiku-4-5": [150, 750], "claude-sonnet-4-6": [450, 2250]},
)
LLM_DAILY_BUDGET_YEN = env.int("LLM_DAILY_BUDGET_YEN", default=1_000)
LLM_MONTHLY_BUDGET_YEN = env.int("LLM_MONTHLY_BUDGET_YEN", default=20_000)
LLM_CUSTOMER_MESSAGES_PER_MINUTE = env.int("LLM_CUSTOMER_MESSAGES_PER_MINUTE", default=60)
LLM_CUSTOMER_TOKENS_PER_DAY = env.int("LLM_CUSTOMER_TOKENS_PER_DAY", default=100_000)
# Recent messages kept verbatim in the prompt up to about this many tokens; older ones are folded into a summary.
LLM_CONTEXT_TOKEN_BUDGET = env.int("LLM_CONTEXT_TOKEN_BUDGET", default=3_000)
# Redis keys of the shared limits and the breaker start with this (tests use their own).
LLM_REDIS_PREFIX = env.str("LLM_REDIS_PREFIX", default="vendbot:llm")

# --- Chats retention, LINE pushes and alerts (dashboard jobs) ---
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=180)
LINE_MONTHLY_PUSH_QUOTA = env.int("LINE_MONTHLY_PUSH_QUOTA", default=200)
ENGAGEMENT_WEEKLY_CAP = env.int("ENGAGEMENT_WEEKLY_CAP", default=2)
ENGAGEMENT_MONTHLY_COUPON_BUDGET_YEN = env.int("ENGAGEMENT_MONTHLY_COUPON_BUDGET_YEN", default=3000)
# LINE user ids of managers who get firing alerts pushed (comma-separated; empty: dashboard only).
ALERT_LINE_USER_IDS = env.list("ALERT_LINE_USER_IDS", default=[])

# Key of the hash a LINE user is known by before they consent (empty: derived from SECRET_KEY; changing either makes
# customers who have not consented yet new to the shop).
LINE_USER_HASH_KEY = env.str("LINE_USER_HASH_KEY", default="")

# Where customers reach this site (the data-export link sent on LINE), and how long such a link works.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
CUSTOMER_EXPORT_LINK_MINUTES = env.int("CUSTOMER_EXPORT_LINK_MINUTES", default=60)
# A member code (LINE 「会員コード」) identifies its customer on a tablet once, within this many minutes; a tablet
# may mistype MEMBER_CODE_FAILURES_PER_10_MINUTES codes in ten minutes, then waits (a guessed code is rare, not free).
MEMBER_CODE_MINUTES = env.int("MEMBER_CODE_MINUTES", default=10)
MEMBER_CODE_FAILURES_PER_10_MINUTES = env.int("MEMBER_CODE_FAILURES_PER_10_MINUTES", default=5)

# --- Customer care (apps/agents cases; chats delivers) ---
# Staff's LINE user ids told at once of every new case (comma-separated; empty: e-mail only).
CASE_STAFF_LINE_USER_IDS = env.list("CASE_STAFF_LINE_USER_IDS", default=[])
# Minutes within which a case should get its first staff answer (the dashboard counts the late ones).
CASE_SLA_MINUTES = env.int("CASE_SLA_MINUTES", default=240)
# How long after a sale the assistant may refund what the machine recorded as not dispensed.
SELF_SERVICE_REFUND_HOURS = env.int("SELF_SERVICE_REFUND_HOURS", default=24)
# Days after a consented follow when each welcome message goes; none after ENGAGEMENT_WELCOME_WINDOW_DAYS.
ENGAGEMENT_WELCOME_DAYS = (1, 3)
ENGAGEMENT_WELCOME_WINDOW_DAYS = 14
ENGAGEMENT_NEW_PRODUCT_DAYS = 7
ENGAGEMENT_FAVOURITE_DAYS = 90
ENGAGEMENT_LOYAL_PURCHASES = 5  # purchases in the last 30 days
ENGAGEMENT_COUPON_YEN = 100
ENGAGEMENT_IDLE_DAYS = 7
# Who sends engagement pushes: LINE's client from the chats app, named here so the dashboard does not import it.
ENGAGEMENT_PUSH_SENDER = "apps.chats.integrations.line_api.LineMessenger"

# --- Dashboard and monitoring ---
DASHBOARD_REFRESH_SECONDS = 30
# How often an open dashboard socket checks that the login it was opened with still stands (logout, expiry,
# deactivation, Manager role removed, password changed all close it within this time).
DASHBOARD_SESSION_CHECK_SECONDS = 3
DASHBOARD_ACTIVE_CONVERSATION_MINUTES = 30
# How long each condition must hold before its alert fires (minutes); 0 fires on the first detection run.
ALERT_HOLD_MINUTES = {
    "sales_anomaly": 10,
    "machine_silent": 5,
    "error_rate": 10,
    "ai_spend": 0,
    "stockout_expected": 0,
    "expiry_soon": 0,
    "shrinkage": 0,
}
# Markdown proposed for goods about to expire: {days left: percent off} (never below cost: docs/shop.md, Expiry).
EXPIRY_MARKDOWN_PERCENT = {1: 20, 0: 30}
# A machine's (or the back room's) stocktake losses at cost over its month's cost of goods sold, in percent, above
# which monitoring raises a shrinkage alert.
SHRINKAGE_ALERT_PERCENT = 2.0
SALES_ANOMALY_HISTORY_DAYS = 14
SALES_ANOMALY_SIGMAS = 3.0
# Below this usual hourly revenue (yen) the hour is too quiet to call anything unusual…
SALES_ANOMALY_MIN_USUAL_YEN = 1000
# …and the hour must differ from the usual level by at least this share of it.
SALES_ANOMALY_MIN_DEVIATION = 0.5
MACHINE_SILENT_MINUTES = 10
ERROR_RATE_WINDOW_MINUTES = 60
ERROR_RATE_MAX = 0.1
ERROR_RATE_MIN_TURNS = 10
# Lead time assumed for a product no active supplier offers.
SUPPLIER_LEAD_TIME_DAYS = 3
STOCKOUT_VELOCITY_DAYS = 14
IDEMPOTENCY_KEY_RETENTION_DAYS = 30
EXPIRED_COUPON_RETENTION_DAYS = 30
