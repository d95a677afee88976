from django.urls import path

from apps.chats.consumers import LineWebhookConsumer, TabletConsumer

websocket_urlpatterns = [path("ws/tablet/<str:code>/", TabletConsumer.as_asgi())]
# HTTP served by Channels ahead of Django's views (everything else falls through to Django).
http_urlpatterns = [path("line/webhook/", LineWebhookConsumer.as_asgi())]
