from django.urls import path

from apps.agents import views

urlpatterns = [
    path("agents/personas/<int:persona_id>/preview/", views.persona_preview, name="agents-persona-preview"),
]
