"""Production: HTTPS only, secure cookies, HSTS. Refuses to start without its secrets (see base.py)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import (
    DEBUG,
    METRICS_TOKEN,
    PAYMENT_GATEWAY,
    PAYMENT_PROVIDERS,
    PAYMENTS_ALLOW_SIMULATED,
    PAYPAY_API_KEY,
    PAYPAY_API_SECRET,
    PAYPAY_MERCHANT_ID,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    env,
)

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production settings: unset DEBUG or set DEBUG=0.")
if not env.list("ALLOWED_HOSTS", default=[]):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set the ALLOWED_HOSTS environment variable (comma-separated)."
    )

if not METRICS_TOKEN:
    raise ImproperlyConfigured(
        "METRICS_TOKEN is not set. Set the METRICS_TOKEN environment variable: Prometheus sends it as "
        "Authorization: Bearer <METRICS_TOKEN> to read /metrics."
    )

_SIMULATED_TERMINAL = "apps.inventory.integrations.payments.SimulatedTerminal"
if "terminal" in PAYMENT_PROVIDERS and PAYMENT_GATEWAY == _SIMULATED_TERMINAL and not PAYMENTS_ALLOW_SIMULATED:
    raise ImproperlyConfigured(
        f"The simulated payment terminal ({_SIMULATED_TERMINAL}) is enabled: it hands out goods for payments nobody "
        "made. Set PAYMENT_PROVIDERS to real providers (paypay,stripe) or PAYMENT_GATEWAY to a real terminal, or set "
        "PAYMENTS_ALLOW_SIMULATED=1 for a demo install."
    )

# A provider offered without its keys would show customers a QR code or card page that can never be paid (and a Stripe
# webhook that cannot be verified would be refused): say which variable is missing instead of starting.
_PROVIDER_KEYS = {
    "paypay": {
        "PAYPAY_API_KEY": PAYPAY_API_KEY,
        "PAYPAY_API_SECRET": PAYPAY_API_SECRET,
        "PAYPAY_MERCHANT_ID": PAYPAY_MERCHANT_ID,
    },
    "stripe": {"STRIPE_SECRET_KEY": STRIPE_SECRET_KEY, "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET},
}
for _provider, _keys in _PROVIDER_KEYS.items():
    _missing = [name for name, value in _keys.items() if not value]
    if _provider in PAYMENT_PROVIDERS and _missing:
        raise ImproperlyConfigured(
            f"PAYMENT_PROVIDERS offers {_provider} but {', '.join(_missing)} is not set. Set it in the environment "
            f"(docs/payments.md), or remove {_provider} from PAYMENT_PROVIDERS."
        )

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The kubelet's probes and Prometheus reach a pod directly over plain HTTP inside the cluster (TLS ends at the
# ingress): these paths answer there instead of redirecting to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Behind a TLS-terminating proxy, e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
_proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header) if len(_proxy_header) == 2 else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
