from django.urls import path

from apps.chats import apis

urlpatterns = [
    path("api/machines/<str:code>/chat/", apis.ChatMessageCreateApi.as_view(), name="machine-chat"),
]
