from django.urls import path

from apps.inventory import apis, checkout_apis, webhooks

urlpatterns = [
    path("api/machines/<str:code>/products/", apis.MachineProductsApi.as_view(), name="machine-products"),
    path("api/machines/<str:code>/purchases/", apis.PurchaseCreateApi.as_view(), name="purchase-create"),
    path("api/machines/<str:code>/heartbeat/", apis.MachineHeartbeatApi.as_view(), name="machine-heartbeat"),
    path("api/machines/<str:code>/checkouts/", checkout_apis.CheckoutCreateApi.as_view(), name="checkout-create"),
    path(
        "api/machines/<str:code>/checkouts/<int:checkout_id>/",
        checkout_apis.CheckoutDetailApi.as_view(),
        name="checkout-detail",
    ),
    path(
        "api/machines/<str:code>/checkouts/<int:checkout_id>/refresh/",
        checkout_apis.CheckoutRefreshApi.as_view(),
        name="checkout-refresh",
    ),
    path(
        "api/machines/<str:code>/checkouts/<int:checkout_id>/cancel/",
        checkout_apis.CheckoutCancelApi.as_view(),
        name="checkout-cancel",
    ),
    path("api/machines/<str:code>/pickup/", checkout_apis.PickupApi.as_view(), name="checkout-pickup"),
    path("payments/paypay/webhook/", webhooks.paypay_webhook, name="paypay-webhook"),
    path("payments/stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
    path("payments/thanks/", webhooks.payment_thanks, name="payment-thanks"),
]
