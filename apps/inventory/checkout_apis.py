"""The tablet's phone-payment endpoints: start a checkout (QR), watch it, ask the provider again, cancel, pickup."""

import segno
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.openapi import ErrorSerializer
from apps.inventory.apis import MachineApi, PurchaseItemsField
from apps.inventory.models import Checkout, Machine, Sale
from apps.inventory.selectors import machine_get, sale_receipt
from apps.inventory.services.checkout import (
    checkout_cancel,
    checkout_get,
    checkout_pickup,
    checkout_start,
    checkout_sync,
)


def qr_svg(data: str) -> str:
    """The QR code drawn here (segno), as inline SVG: no CDN, no image service sees the payment link."""
    return segno.make(data, error="m").svg_inline(scale=6, border=2) if data else ""


class CheckoutOutputSerializer(serializers.Serializer):
    checkout_id = serializers.IntegerField()
    provider = serializers.ChoiceField(choices=Checkout.Provider.choices)
    state = serializers.ChoiceField(choices=Checkout.State.choices)
    total_yen = serializers.IntegerField()
    pay_url = serializers.CharField(help_text=_("QRコードの中身（お客様のスマホで開くURL）"))
    qr_svg = serializers.CharField(help_text=_("QRコード（SVG）"))
    expires_at = serializers.DateTimeField()
    receipt = serializers.DictField(allow_null=True, help_text=_("払い出し後のレシート"))


def checkout_body(checkout: Checkout) -> dict:
    open_ = checkout.state == Checkout.State.RESERVED
    sale = Sale.attempts.select_related("machine", "coupon", "payment").get(pk=checkout.sale_id)
    return {
        "checkout_id": checkout.pk,
        "provider": checkout.provider,
        "state": checkout.state,
        "total_yen": sale.total_yen,
        "pay_url": checkout.pay_url if open_ else "",
        "qr_svg": qr_svg(checkout.pay_url) if open_ else "",
        "expires_at": checkout.expires_at.isoformat(),
        "receipt": sale_receipt(sale) if checkout.state == Checkout.State.DISPENSED else None,
    }


def _machine(request, code) -> Machine:
    return request.auth if isinstance(request.auth, Machine) else machine_get(code=code)


class CheckoutCreateApi(MachineApi):
    class InputSerializer(serializers.Serializer):
        items = PurchaseItemsField()
        coupon = serializers.CharField(max_length=32, allow_null=True, allow_blank=True, required=False)
        provider = serializers.ChoiceField(choices=Checkout.Provider.choices)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: CheckoutOutputSerializer,
            503: OpenApiResponse(ErrorSerializer, description="`payment_unavailable`: retry with the same key."),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        summary="Reserve items and show a PayPay or card QR code for their exact total",
        description="201 checkout (state `reserved`, `qr_svg`); 409 `sold_out`; 400 `invalid`.",
    )
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout = checkout_start(
            machine=_machine(request, code),
            items=data.validated_data["items"],
            coupon_code=data.validated_data.get("coupon"),
            provider=data.validated_data["provider"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            channel=Sale.Channel.TABLET,
        )
        return Response(checkout_body(checkout), status=status.HTTP_201_CREATED)


class CheckoutDetailApi(MachineApi):
    @extend_schema(responses=CheckoutOutputSerializer, summary="A checkout's state (read only)")
    def get(self, request, code, checkout_id):
        return Response(checkout_body(checkout_get(checkout_id=checkout_id, machine=_machine(request, code))))


class CheckoutRefreshApi(MachineApi):
    @extend_schema(request=None, responses=CheckoutOutputSerializer, summary="Ask the provider about the payment now")
    def post(self, request, code, checkout_id):
        checkout = checkout_get(checkout_id=checkout_id, machine=_machine(request, code))
        return Response(checkout_body(checkout_sync(checkout=checkout)))


class CheckoutCancelApi(MachineApi):
    @extend_schema(request=None, responses=CheckoutOutputSerializer, summary="The customer cancels before paying")
    def post(self, request, code, checkout_id):
        checkout = checkout_get(checkout_id=checkout_id, machine=_machine(request, code))
        return Response(checkout_body(checkout_cancel(checkout=checkout)))


class PickupApi(MachineApi):
    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=8)

    @extend_schema(request=InputSerializer, responses=CheckoutOutputSerializer, summary="Dispense a paid LINE order")
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout = checkout_pickup(machine=_machine(request, code), code=data.validated_data["code"])
        return Response(checkout_body(checkout))
