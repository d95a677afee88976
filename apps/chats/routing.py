from django.urls import path

from apps.chats.consumers import TabletConsumer

websocket_urlpatterns = [path("ws/tablet/<str:code>/", TabletConsumer.as_asgi())]
