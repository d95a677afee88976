from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ValidationError
from apps.core.money import TaxRate
from apps.core.openapi import ErrorSerializer
from apps.inventory.authentication import DeviceTokenAuthentication, IsMachineDeviceOrStaff, TabletCookieAuthentication
from apps.inventory.models import Machine, Payment, Sale
from apps.inventory.selectors import machine_get, machine_products
from apps.inventory.services import machine_heartbeat_record, purchase_create


class MachineApi(APIView):
    """A machine's own endpoints: its tablet's device token or paired cookie, or a staff session."""

    authentication_classes = [DeviceTokenAuthentication, TabletCookieAuthentication, SessionAuthentication]
    permission_classes = [IsMachineDeviceOrStaff]


class MachineProductsApi(MachineApi):
    class OutputSerializer(serializers.Serializer):
        slot = serializers.CharField()
        sku = serializers.CharField(allow_null=True)
        name = serializers.CharField()
        name_en = serializers.CharField()
        category = serializers.CharField()
        image = serializers.CharField()
        price_yen = serializers.IntegerField(allow_null=True)
        tax_rate = serializers.ChoiceField(choices=TaxRate.choices, allow_null=True)
        quantity = serializers.IntegerField()
        available = serializers.BooleanField()
        allergens = serializers.ListField(
            child=serializers.CharField(),
            allow_null=True,
            help_text="Allergens on the label (the 8 mandatory and 20 recommended ones); null: not checked yet.",
        )
        calories_kcal = serializers.IntegerField(allow_null=True)
        ingredients = serializers.CharField()

    @extend_schema(
        responses=OutputSerializer(many=True), summary="Slots, stock, prices, tax and food labels of a machine"
    )
    def get(self, request, code):
        return Response(self.OutputSerializer(machine_products(machine_code=code), many=True).data)


class PurchaseItemSerializer(serializers.Serializer):
    """One item of a purchase, as documented (`PurchaseItemsField` takes the list)."""

    slot = serializers.CharField(max_length=8)
    quantity = serializers.IntegerField(min_value=1, default=1)


def _is_item_list(data) -> bool:
    """A list of objects: the shape of a purchase's items (`PurchaseItemsField`, `purchase_body`)."""
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


@extend_schema_field(PurchaseItemSerializer(many=True))
class PurchaseItemsField(serializers.Field):
    """A purchase's items: a list of objects. What each one names (a slot of this machine, a whole quantity of 1 or
    more, at most 50 slots) `purchase_create` checks, with the message the customer reads. A serializer per item
    checked it all once more, and cost more CPU than the rest of the request's parsing (docs/performance.md)."""

    default_error_messages = {"invalid": _("items は slot と quantity を持つオブジェクトの一覧にしてください。")}

    def to_internal_value(self, data):
        if not _is_item_list(data):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


COUPON_MAX_LENGTH = 32


def purchase_body(data) -> tuple[list, str | None, str]:
    """(items, coupon, payment_method) of a purchase's body, of the types `PurchaseCreateApi.InputSerializer`
    documents; what they name (slots, quantities, the coupon, the method) `purchase_create` checks.

    A purchase is the request every machine sends most, and building and running that serializer cost 0.59 M
    instructions, 8 % of a purchase's CPU in the web process, for three fields (docs/performance.md)."""
    if not isinstance(data, Mapping):
        raise ValidationError(_("本文は items と payment_method を持つ JSON オブジェクトにしてください。"))
    items = data.get("items")
    if not _is_item_list(items):
        raise ValidationError(PurchaseItemsField.default_error_messages["invalid"], details={"field": "items"})
    coupon = data.get("coupon")
    if coupon is not None and not (isinstance(coupon, str) and len(coupon) <= COUPON_MAX_LENGTH):
        raise ValidationError(
            _("クーポンコードは{limit}文字以内の文字列にしてください。").format(limit=COUPON_MAX_LENGTH),
            details={"field": "coupon"},
        )
    payment_method = data.get("payment_method")
    if not isinstance(payment_method, str) or not payment_method:
        raise ValidationError(
            _("支払い方法（payment_method）を指定してください。"), details={"field": "payment_method"}
        )
    return items, coupon, payment_method


class PurchaseCreateApi(MachineApi):
    class InputSerializer(serializers.Serializer):
        """The body, as documented (and extended by the tablet's purchase); `purchase_body` checks it."""

        items = PurchaseItemsField()
        coupon = serializers.CharField(max_length=COUPON_MAX_LENGTH, allow_null=True, allow_blank=True, required=False)
        payment_method = serializers.ChoiceField(choices=Payment.Method.choices)

    class OutputSerializer(serializers.Serializer):
        class LineSerializer(serializers.Serializer):
            slot = serializers.CharField()
            sku = serializers.CharField()
            name = serializers.CharField()
            quantity = serializers.IntegerField()
            unit_price_yen = serializers.IntegerField()
            tax_rate = serializers.IntegerField()
            discount_yen = serializers.IntegerField()
            total_yen = serializers.IntegerField()
            dispensed_quantity = serializers.IntegerField()

        class TaxSerializer(serializers.Serializer):
            rate = serializers.IntegerField()
            total_yen = serializers.IntegerField(help_text=_("この税率の税込合計"))
            tax_yen = serializers.IntegerField(help_text=_("うち消費税"))

        class PaymentSerializer(serializers.Serializer):
            method = serializers.CharField()
            status = serializers.CharField()
            amount_yen = serializers.IntegerField()

        sale_id = serializers.IntegerField()
        machine = serializers.CharField()
        created_at = serializers.DateTimeField()
        status = serializers.ChoiceField(choices=Sale.Status.choices)
        lines = LineSerializer(many=True)
        subtotal_yen = serializers.IntegerField()
        discount_yen = serializers.IntegerField()
        coupon = serializers.CharField(allow_null=True)
        total_yen = serializers.IntegerField()
        tax = TaxSerializer(many=True)
        payment = PaymentSerializer(allow_null=True)
        refunded_yen = serializers.IntegerField()
        message = serializers.CharField(help_text=_("払い出しエラーなどのお知らせ（空なら正常）"))

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            402: OpenApiResponse(ErrorSerializer, description="`payment_declined`: the payment was not approved."),
            503: OpenApiResponse(
                ErrorSerializer,
                description="`payment_unavailable`: the terminal did not answer; send again with the same key.",
            ),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        summary="Buy items from a machine",
        description=(
            "201 receipt; 409 `sold_out`; 402 `payment_declined`; 400 `invalid` (also when Idempotency-Key is "
            "missing); 409 `idempotency_key_reused` for the same key with a different body; 409 `purchase_failed` "
            "when the key's attempt was given up; 503 `payment_unavailable` (retry with the same key). The same key "
            "and body again returns the first receipt and charges nothing; after a decline, pay again with a new key."
        ),
    )
    def post(self, request, code):
        is_device = isinstance(request.auth, Machine)
        # The permission check already matched a device's machine to the URL.
        machine = request.auth if is_device else machine_get(code=code)
        items, coupon, payment_method = purchase_body(request.data)
        outcome = purchase_create(
            machine=machine,
            items=items,
            coupon_code=coupon,
            payment_method=payment_method,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            channel=Sale.Channel.TABLET if is_device else Sale.Channel.ADMIN,
            actor=None if is_device else request.user,
        )
        return Response(outcome.receipt, status=status.HTTP_201_CREATED)


class MachineHeartbeatApi(MachineApi):
    @extend_schema(request=None, responses={204: None}, summary="The tablet reports that its machine is alive")
    def post(self, request, code):
        machine_heartbeat_record(machine=machine_get(code=code))
        return Response(status=status.HTTP_204_NO_CONTENT)
