from django.urls import path

from apps.inventory import apis

urlpatterns = [
    path("api/machines/<str:code>/products/", apis.MachineProductsApi.as_view(), name="machine-products"),
    path("api/machines/<str:code>/purchases/", apis.PurchaseCreateApi.as_view(), name="purchase-create"),
    path("api/machines/<str:code>/heartbeat/", apis.MachineHeartbeatApi.as_view(), name="machine-heartbeat"),
]
