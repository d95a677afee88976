from django.urls import path

from apps.chats import apis, views

urlpatterns = [
    path("api/machines/<str:code>/chat/", apis.ChatMessageCreateApi.as_view(), name="machine-chat"),
    path("api/machines/<str:code>/ratings/", apis.RatingCreateApi.as_view(), name="machine-rating"),
    path("api/machines/<str:code>/tablet-purchases/", apis.TabletPurchaseApi.as_view(), name="machine-tablet-purchase"),
    path("api/machines/<str:code>/member/", apis.MemberCodeApi.as_view(), name="machine-member"),
    path("tablet/<str:code>/", views.tablet_page, name="tablet"),
    path("me/export/", views.customer_export, name="customer-export"),
]
