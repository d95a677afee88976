"""Every Channels route of the project: each app with sockets adds its `routing.websocket_urlpatterns` here, and the
few HTTP endpoints served ahead of Django's view chain (`routing.http_urlpatterns`)."""

from apps.chats.routing import http_urlpatterns as chats_http
from apps.chats.routing import websocket_urlpatterns as chats_websockets
from apps.dashboard.routing import websocket_urlpatterns as dashboard_websockets
from apps.experiments.routing import websocket_urlpatterns as experiment_websockets

websocket_urlpatterns = [*chats_websockets, *dashboard_websockets, *experiment_websockets]
http_urlpatterns = [*chats_http]
