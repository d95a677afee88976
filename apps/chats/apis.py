from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.limits import MAX_CHAT_MESSAGE_LENGTH
from apps.chats.services import (
    MAX_RATING_COMMENT_LENGTH,
    chat_message_handle,
    tablet_customer_identify,
    tablet_purchase,
    tablet_rating_record,
)
from apps.inventory.apis import PurchaseCreateApi
from apps.inventory.authentication import DeviceTokenAuthentication, IsMachineDeviceOrStaff, TabletCookieAuthentication
from apps.inventory.selectors import machine_get


class ChatMessageCreateApi(APIView):
    """A customer's message at a machine's tablet (the page's fallback for its socket); authenticated as purchases."""

    authentication_classes = [DeviceTokenAuthentication, TabletCookieAuthentication, SessionAuthentication]
    permission_classes = [IsMachineDeviceOrStaff]

    class InputSerializer(serializers.Serializer):
        # The `conversation` of an earlier answer; another machine's, channel's or a made-up one is a 404.
        conversation = serializers.UUIDField(allow_null=True, required=False)
        message = serializers.CharField(
            max_length=MAX_CHAT_MESSAGE_LENGTH,
            error_messages={
                "blank": _("メッセージを入力してください。"),
                "required": _("メッセージを入力してください。"),
                "max_length": _("メッセージは{max_length}文字以内にしてください。"),
            },
        )

    class OutputSerializer(serializers.Serializer):
        conversation = serializers.UUIDField(source="conversation.public_id")
        reply = serializers.CharField(source="text")
        actions = serializers.ListField(child=serializers.DictField())
        agent_available = serializers.BooleanField()
        message = serializers.IntegerField(source="message_id", allow_null=True, help_text="The answer, to rate.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Talk to the shop assistant")
    def post(self, request, code):
        machine = machine_get(code=code)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reply = chat_message_handle(
            machine=machine,
            conversation_public_id=data.validated_data.get("conversation"),
            text=data.validated_data["message"],
        )
        return Response(self.OutputSerializer(reply).data)


class RatingCreateApi(APIView):
    """A customer's 👍/👎 (and optional comment) on an answer or a purchase of their tablet conversation (the
    page's fallback for its socket); authenticated as the chat."""

    authentication_classes = [DeviceTokenAuthentication, TabletCookieAuthentication, SessionAuthentication]
    permission_classes = [IsMachineDeviceOrStaff]

    class InputSerializer(serializers.Serializer):
        conversation = serializers.UUIDField()
        message = serializers.IntegerField(required=False, min_value=1)
        sale = serializers.IntegerField(required=False, min_value=1)
        score = serializers.ChoiceField(choices=[1, -1])
        comment = serializers.CharField(required=False, allow_blank=True, max_length=MAX_RATING_COMMENT_LENGTH)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        subject = serializers.CharField()
        score = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Rate an answer or a purchase")
    def post(self, request, code):
        machine = machine_get(code=code)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = tablet_rating_record(
            machine=machine,
            conversation_public_id=str(data.validated_data["conversation"]),
            score=data.validated_data["score"],
            message_id=data.validated_data.get("message"),
            sale_id=data.validated_data.get("sale"),
            comment=data.validated_data.get("comment", ""),
        )
        return Response(self.OutputSerializer(rating).data, status=201)


class MemberCodeApi(APIView):
    """A customer types the member code LINE gave them (「会員コード」) on the tablet: the conversation (a new one
    without `conversation`) knows them from now on, for recommendations and their purchases; authenticated as the chat."""

    authentication_classes = [DeviceTokenAuthentication, TabletCookieAuthentication, SessionAuthentication]
    permission_classes = [IsMachineDeviceOrStaff]

    class InputSerializer(serializers.Serializer):
        conversation = serializers.UUIDField(allow_null=True, required=False)
        code = serializers.CharField(max_length=20, error_messages={"blank": _("会員コードを入力してください。")})

    class OutputSerializer(serializers.Serializer):
        conversation = serializers.UUIDField()
        text = serializers.CharField(help_text="The assistant's welcome with the customer's recommendations.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Identify with a member code")
    def post(self, request, code):
        machine = machine_get(code=code)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation_id = data.validated_data.get("conversation")
        conversation, welcome = tablet_customer_identify(
            machine=machine,
            conversation_public_id=None if conversation_id is None else str(conversation_id),
            code=data.validated_data["code"],
        )
        return Response(self.OutputSerializer({"conversation": conversation.public_id, "text": welcome}).data)


class TabletPurchaseApi(APIView):
    """A purchase from the tablet page's HTTP fallback (when its socket is down), as over the socket: with the page's
    `conversation`, made under the key of a customer who typed their member code and recorded in the conversation.
    The same Idempotency-Key rules and answers as `POST /api/machines/<code>/purchases/`."""

    authentication_classes = [DeviceTokenAuthentication, TabletCookieAuthentication]
    permission_classes = [IsMachineDeviceOrStaff]

    class InputSerializer(PurchaseCreateApi.InputSerializer):
        conversation = serializers.UUIDField(allow_null=True, required=False)

    @extend_schema(
        request=InputSerializer,
        responses={201: PurchaseCreateApi.OutputSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        summary="Buy at the tablet within its conversation",
    )
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = data.validated_data.get("conversation")
        outcome = tablet_purchase(
            machine=request.auth,
            conversation_public_id=None if conversation is None else str(conversation),
            items=data.validated_data["items"],
            coupon_code=data.validated_data.get("coupon"),
            payment_method=data.validated_data["payment_method"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return Response(outcome.receipt, status=201)
