"""Every WebSocket route of the project; each app with sockets adds its `routing.websocket_urlpatterns` here."""

from apps.chats.routing import websocket_urlpatterns as chats_websockets
from apps.dashboard.routing import websocket_urlpatterns as dashboard_websockets
from apps.experiments.routing import websocket_urlpatterns as experiment_websockets

websocket_urlpatterns = [*chats_websockets, *dashboard_websockets, *experiment_websockets]
