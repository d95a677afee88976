"""`/ws/tablet/<code>/`: the tablet's chat (the assistant's reply streamed as it is written) and purchases.

The credential is the pairing cookie set by the tablet page (`tablet_pairing`), checked against the machine in the
URL; staff logins mean nothing here. Client messages:
  {"type": "chat", "conversation": id|null, "text": "..."}
  {"type": "purchase", "items": [{"slot", "quantity"}], "coupon": "", "payment_method": "card",
   "idempotency_key": "<new per attempt>"}
  {"type": "products"}
Server messages: "products", "reply_start", "delta" (text), "reply" (final text and actions), "receipt", "error"."""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from apps.agents.runtime import TextDelta, TurnDone, agent_turn_stream
from apps.chats.services import chat_turn_begin, chat_turn_finish
from apps.chats.tablet_pairing import PAIRING_COOKIE, paired_machine
from apps.core.errors import ApplicationError
from apps.inventory.models import Sale
from apps.inventory.selectors import machine_products
from apps.inventory.services import purchase_create

logger = logging.getLogger(__name__)

CLOSE_NOT_PAIRED = 4403


class TabletConsumer(AsyncJsonWebsocketConsumer):
    machine = None

    async def connect(self):
        cookie = (self.scope.get("cookies") or {}).get(PAIRING_COOKIE, "")
        machine = await database_sync_to_async(paired_machine)(cookie)
        if machine is None or machine.code.upper() != self.scope["url_route"]["kwargs"]["code"].upper():
            await self.close(code=CLOSE_NOT_PAIRED)
            return
        self.machine = machine
        await self.accept()
        await self._send_products()

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "chat":
                await self._chat(content)
            elif kind == "purchase":
                await self._purchase(content)
            elif kind == "products":
                await self._send_products()
            else:
                await self._send_error(kind, "invalid", _("不明なメッセージです。"))
        except ApplicationError as exc:
            await self._send_error(kind, exc.code, exc.message)
        except Exception:
            logger.exception("Tablet %s: %s failed", self.machine.code, kind)
            await self._send_error(kind, "server_error", _("エラーが発生しました。もう一度お試しください。"))

    async def _chat(self, content):
        conversation_id = content.get("conversation")
        turn = await database_sync_to_async(chat_turn_begin)(
            machine=self.machine,
            conversation_id=conversation_id if isinstance(conversation_id, int) else None,
            text=str(content.get("text") or ""),
        )
        await self.send_json({"type": "reply_start", "conversation": turn.conversation.pk})
        outcome = None
        if turn.context is not None:
            async for event in agent_turn_stream(
                agent=turn.conversation.agent, context=turn.context, history=turn.history
            ):
                if isinstance(event, TextDelta):
                    await self.send_json({"type": "delta", "text": event.text})
                elif isinstance(event, TurnDone):
                    outcome = event.outcome
        reply = await database_sync_to_async(chat_turn_finish)(turn=turn, outcome=outcome)
        # The whole reply (what the deltas spelled out) and the actions to show under it.
        await self.send_json(
            {
                "type": "reply",
                "conversation": reply.conversation.pk,
                "text": reply.text,
                "actions": reply.actions,
                "agent_available": reply.agent_available,
            }
        )

    async def _purchase(self, content):
        items = content.get("items")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            await self._send_error("purchase", "invalid", _("商品を1つ以上選んでください。"))
            return
        outcome = await database_sync_to_async(purchase_create)(
            machine=self.machine,
            items=items,
            coupon_code=str(content.get("coupon") or ""),
            payment_method=str(content.get("payment_method") or ""),
            idempotency_key=str(content.get("idempotency_key") or ""),
            channel=Sale.Channel.TABLET,
        )
        await self.send_json({"type": "receipt", "receipt": outcome.receipt, "replayed": outcome.replayed})
        await self._send_products()

    async def _send_products(self):
        products = await database_sync_to_async(machine_products)(machine_code=self.machine.code)
        await self.send_json({"type": "products", "products": products})

    async def _send_error(self, request_type, code, message):
        await self.send_json({"type": "error", "request": request_type, "code": code, "message": message})
