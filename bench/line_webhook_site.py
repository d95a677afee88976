"""Settings and URLconf of the server that `bench/line_webhook.py` starts: the product as configured, plus one bare
Django view (`POST /bench/bare/`, no database, no Celery) to compare the webhook against. Nothing imports this."""

from vendbot.settings.base import *  # noqa: F403

ROOT_URLCONF = __name__


def __getattr__(name):
    # The URLconf is built on first use: views cannot be imported while these settings are still loading.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.http import JsonResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def bare(request):
        return JsonResponse({})

    return [path("bench/bare/", bare), path("", include("vendbot.urls"))]
