from django.urls import path

from apps.experiments.consumers import ExperimentProgressConsumer

websocket_urlpatterns = [path("ws/experiments/<int:experiment_id>/", ExperimentProgressConsumer.as_asgi())]
