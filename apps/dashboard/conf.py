"""The dashboard's settings with their defaults; each may be overridden in the Django settings (or the environment
through them). Read at call time, so tests can override them with `settings`."""

import math

from django.conf import settings

DEFAULTS = {
    "DASHBOARD_REFRESH_SECONDS": 30,
    # How often an open dashboard socket checks that the login it was opened with still stands (logout, expiry,
    # deactivation, Manager role removed, password changed all close it within this time).
    "DASHBOARD_SESSION_CHECK_SECONDS": 3,
    "DASHBOARD_ACTIVE_CONVERSATION_MINUTES": 30,
    # How long each condition must hold before its alert fires (minutes); 0 fires on the first detection run.
    "ALERT_HOLD_MINUTES": {
        "sales_anomaly": 10,
        "machine_silent": 5,
        "error_rate": 10,
        "ai_spend": 0,
        "stockout_expected": 0,
    },
    "SALES_ANOMALY_HISTORY_DAYS": 14,
    "SALES_ANOMALY_SIGMAS": 3.0,
    # Below this usual hourly revenue (yen) the hour is too quiet to call anything unusual.
    "SALES_ANOMALY_MIN_USUAL_YEN": 1000,
    # …and the hour must differ from the usual level by at least this share of it.
    "SALES_ANOMALY_MIN_DEVIATION": 0.5,
    "MACHINE_SILENT_MINUTES": 10,
    "ERROR_RATE_WINDOW_MINUTES": 60,
    "ERROR_RATE_MAX": 0.1,
    "ERROR_RATE_MIN_TURNS": 10,
    "SUPPLIER_LEAD_TIME_DAYS": 3,
    "STOCKOUT_VELOCITY_DAYS": 14,
    "CHAT_RETENTION_DAYS": 180,
    "IDEMPOTENCY_KEY_RETENTION_DAYS": 30,
    "EXPIRED_COUPON_RETENTION_DAYS": 30,
}


def setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


def alert_hold_minutes(kind: str) -> int:
    return {**DEFAULTS["ALERT_HOLD_MINUTES"], **getattr(settings, "ALERT_HOLD_MINUTES", {})}[kind]


def whole_yen(amount) -> int:
    """A model cost (Decimal yen from the decision log) in whole yen, rounded up so spend is never understated."""
    return math.ceil(amount or 0)
