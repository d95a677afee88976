"""`/ws/dashboard/`: who may open it, and what reaches it."""

import asyncio
import datetime

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.dashboard.monitoring import Condition
from apps.dashboard.services import alerts_apply
from apps.inventory.services import purchase_create, purchase_order_submit
from tests.factories import PurchaseOrderFactory
from vendbot.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def sell(machine, *, quantity: int, key: str):
    return purchase_create(
        machine=machine,
        items=[{"slot": "A1", "quantity": quantity}],
        coupon_code=None,
        payment_method="card",
        idempotency_key=key,
        channel="tablet",
    )


def socket_for(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/dashboard/")
    communicator.scope["user"] = user
    return communicator


async def test_anonymous_visitors_are_refused():
    connected, code = await socket_for(AnonymousUser()).connect()
    assert not connected and code == 4403


async def test_staff_are_refused(staff_user):
    connected, code = await socket_for(staff_user).connect()
    assert not connected and code == 4403


async def test_a_sale_reaches_an_open_dashboard(manager_user, machine, tea_slot):
    socket = socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected

    await sell(machine, quantity=2, key="ws-1")

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "sale"
    assert (event["sale"]["machine"], event["sale"]["total_yen"]) == ("HQ-1F", 300)
    await socket.disconnect()


async def test_an_alert_firing_reaches_an_open_dashboard(manager_user, settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 0}
    socket = socket_for(manager_user)
    await socket.connect()
    condition = Condition(kind="machine_silent", subject="HQ-1F", message="応答がありません", severity="critical")

    await database_sync_to_async(alerts_apply)(conditions=[condition], now=timezone.now())

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "alert"
    assert (event["alert"]["subject"], event["alert"]["state"]) == ("HQ-1F", "firing")
    await socket.disconnect()


async def test_an_open_dashboard_gets_a_fresh_snapshot_periodically_and_on_request(manager_user, settings):
    settings.DASHBOARD_REFRESH_SECONDS = 0.2
    socket = socket_for(manager_user)
    await socket.connect()

    periodic = await socket.receive_json_from(timeout=2)
    assert periodic["type"] == "snapshot" and "revenue_yen" in periodic["snapshot"]["cards"]

    settings.DASHBOARD_REFRESH_SECONDS = 60
    await socket.send_json_to({"action": "refresh"})
    asked = await socket.receive_json_from(timeout=2)
    assert asked["type"] == "snapshot"
    generated = datetime.datetime.fromisoformat(asked["snapshot"]["generated_at"])
    assert generated >= datetime.datetime.fromisoformat(periodic["snapshot"]["generated_at"])
    await socket.disconnect()


async def test_a_dashboard_on_the_redis_layer_survives_a_quiet_spell(manager_user, machine, tea_slot, settings):
    """channels_redis blocks 5 s per read: with redis-py's default 5 s socket timeout an idle consumer used to die."""
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}
    socket = socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected
    await asyncio.sleep(6)

    await sell(machine, quantity=1, key="ws-quiet")

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "sale" and event["sale"]["total_yen"] == 150
    await socket.disconnect()


async def test_an_order_waiting_for_approval_reaches_an_open_dashboard(manager_user):
    order = await database_sync_to_async(PurchaseOrderFactory)(status="draft")
    socket = socket_for(manager_user)
    await socket.connect()

    await database_sync_to_async(purchase_order_submit)(order=order, actor_label="procurement-agent")

    event = await socket.receive_json_from(timeout=2)
    assert event == {"type": "order", "order": {"id": order.pk, "status": "pending_human_approval"}}
    await socket.disconnect()
