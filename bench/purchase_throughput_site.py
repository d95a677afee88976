"""Settings and URLconf of the server that `bench/purchase_throughput.py` starts: the product as configured, plus
one bare DRF view (`/bench/ping/`, no auth, no database) to compare against. Nothing in the product imports this."""

from vendbot.settings.base import *  # noqa: F403

ROOT_URLCONF = __name__


def __getattr__(name):
    # The URLconf is built on first use: DRF cannot be imported while these settings are still loading.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class BarePingApi(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]

        def get(self, request):
            return Response({"ok": True})

    return [path("bench/ping/", BarePingApi.as_view()), path("", include("vendbot.urls"))]
