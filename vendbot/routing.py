"""Every WebSocket route of the project; each app with sockets adds its `routing.websocket_urlpatterns` here."""

websocket_urlpatterns = []
