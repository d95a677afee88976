from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.limits import MAX_CHAT_MESSAGE_LENGTH
from apps.chats.services import chat_message_handle
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
