"""The one error family of VendBot.

Services raise these with a message a person can act on; `apps.core.exceptions` maps them once to
`{"error": {"code", "message", "details"}}` with the status below, and `apps.core.admin_tools` to admin messages.
"""

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "application_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.details = details or {}


class ValidationError(ApplicationError):
    status_code = 400
    code = "invalid"


class AuthenticationRequired(ApplicationError):
    status_code = 401
    code = "not_authenticated"


class PaymentDeclined(ApplicationError):
    status_code = 402
    code = "payment_declined"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "unavailable"
