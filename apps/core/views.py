import hmac

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from apps.core.errors import ApplicationError
from apps.core.exceptions import error_body
from apps.core.health import run_readiness_checks
from apps.core.parsers import payload_too_large


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. No I/O, so a slow database never gets a live process restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: every check, or those named in `?checks=database,redis,channel_layer` (comma-separated)."""
    named = request.GET.get("checks")
    try:
        checks = run_readiness_checks(only=[name.strip() for name in named.split(",")] if named is not None else None)
    except ApplicationError as exc:
        return JsonResponse(error_body(code=exc.code, message=exc.message, details=exc.details), status=exc.status_code)
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ready" if not failed else "unavailable", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_GET
def metrics(request):
    """Prometheus' scrape: open under DEBUG; otherwise only with `Authorization: Bearer <METRICS_TOKEN>` (compared in
    constant time), and not there at all (404) while METRICS_TOKEN is unset: revenue, AI spend and stock-outs are
    nobody else's business."""
    if not settings.DEBUG:
        if not settings.METRICS_TOKEN:
            return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), settings.METRICS_TOKEN.encode()
        ):
            response = JsonResponse(
                error_body(code="not_authenticated", message="Send Authorization: Bearer <METRICS_TOKEN>."), status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return ExportToDjangoView(request)


def _wants_json(request) -> bool:
    path = request.path
    return path.startswith(("/api/", "/line/")) or "application/json" in request.headers.get("Accept", "")


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        # Django's size limit, met outside an API view (a form read by a middleware): 413, in our shape for the API.
        too_large = payload_too_large()
        if _wants_json(request):
            body = error_body(code=too_large.code, message=too_large.message, details=too_large.details)
            return JsonResponse(body, status=too_large.status_code)
        response = defaults.bad_request(request, exception)
        response.status_code = too_large.status_code
        return response
    if _wants_json(request):
        return JsonResponse(error_body(code="bad_request", message="Bad request."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body(code="permission_denied", message="Permission denied."), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(error_body(code="server_error", message="Internal server error."), status=500)
    return defaults.server_error(request)
