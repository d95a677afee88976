"""ASGI entry point served by daphne: Django for HTTP, Channels for the tablet and dashboard WebSockets and for the
LINE webhook (an HTTP consumer that must answer faster than Django's view chain allows)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.base")

# Django must be set up before anything imports models (the routing below does).
django.setup(set_prefix=False)

from apps.core.asgi import SyncRequestHandler, websocket_auth_stack  # noqa: E402

django_asgi_app = SyncRequestHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import get_resolver, path, re_path  # noqa: E402

from apps.inventory.consumers import DevicePurchases  # noqa: E402
from vendbot.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                *http_urlpatterns,
                # A machine's purchase on the event loop; what it does not serve goes on to Django's view.
                path("api/machines/<str:code>/purchases/", DevicePurchases(django_asgi_app)),
                re_path(r"", django_asgi_app),
            ]
        ),
        "websocket": AllowedHostsOriginValidator(websocket_auth_stack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded so far (Django, the apps, the SDKs: hundreds of thousands of objects) lives as long as the
# process. Left to the collector, each full collection walks them all, a long pause in the middle of serving; frozen,
# full collections only walk what requests create. The URLconf (every view, serializer and service) is loaded first:
# Django would load it at the first request, after the freeze (29,000 objects more for every full collection).
get_resolver().url_patterns  # noqa: B018 (loads it)
gc.freeze()
