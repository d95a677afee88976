"""One mapping from every error to `{"error": {"code", "message", "details"}}` for the API."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import ApplicationError
from apps.core.parsers import payload_too_large

logger = logging.getLogger(__name__)


def error_body(*, code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def application_error_answer(exc: ApplicationError) -> tuple[int, dict, dict[str, str]]:
    """The status, body and headers an ApplicationError is answered with (by the API, and by a consumer answering
    as the API would)."""
    headers = {}
    retry_after = exc.details.get("retry_after_seconds") if isinstance(exc.details, dict) else None
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return exc.status_code, error_body(code=exc.code, message=exc.message, details=exc.details), headers


def server_error_body() -> dict:
    return error_body(code="server_error", message=_("内部エラーが発生しました。しばらくしてからお試しください。"))


def _first_message(detail) -> str:
    """The first human message inside DRF's nested error detail, for the one-line `message`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            if inner:
                return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = payload_too_large()
    if isinstance(exc, ApplicationError):
        status, body, headers = application_error_answer(exc)
        return Response(body, status=status, headers=headers)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = drf_exceptions.ValidationError(details)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an error we know: a bug. Logged with its traceback; the 500 body still has our shape.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(server_error_body(), status=500)

    if isinstance(exc, drf_exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _first_message(exc.detail) or _("入力が正しくありません。")
        response.data = error_body(code="invalid", message=message, details=details)
    else:
        code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        if not isinstance(code, str):
            code = "error"
        detail = getattr(exc, "detail", str(exc))
        response.data = error_body(code=code, message=_first_message(detail), details={})
    return response
