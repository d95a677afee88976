from django.urls import path

from apps.chats import apis, views

urlpatterns = [
    path("api/machines/<str:code>/chat/", apis.ChatMessageCreateApi.as_view(), name="machine-chat"),
    path("tablet/<str:code>/", views.tablet_page, name="tablet"),
]
