"""`/ws/dashboard/`: who may open it, and what reaches it."""

import asyncio
import datetime

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.core.broadcast import BATCH_TYPE
from apps.core.roles import MANAGER
from apps.dashboard.live import DASHBOARD_GROUP
from apps.dashboard.monitoring import Condition
from apps.dashboard.services import alerts_apply
from apps.inventory.services import purchase_create, purchase_order_submit
from tests.factories import PurchaseOrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sell_now(machine, *, quantity: int = 1, key: str):
    return purchase_create(
        machine=machine,
        items=[{"slot": "A1", "quantity": quantity}],
        coupon_code=None,
        payment_method="card",
        idempotency_key=key,
        channel="tablet",
    )


sell = database_sync_to_async(sell_now)


@database_sync_to_async
def log_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def socket_for(user, browser: Client | None = None) -> WebsocketCommunicator:
    """The dashboard socket as a browser opens it: through the project's ASGI stack, with the session cookie of
    `browser` (a fresh login of `user` when not given; none for an anonymous visitor)."""
    from vendbot.asgi import application

    headers = [(b"origin", b"http://testserver")]
    if browser is None and user.is_authenticated:
        browser = await log_in(user)
    if browser is not None:
        session = browser.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


async def test_anonymous_visitors_are_refused():
    connected, code = await (await socket_for(AnonymousUser())).connect()
    assert not connected and code == 4403


async def test_staff_are_refused(staff_user):
    connected, code = await (await socket_for(staff_user)).connect()
    assert not connected and code == 4403


async def test_a_sale_reaches_an_open_dashboard(manager_user, machine, tea_slot):
    socket = await socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected

    await sell(machine, quantity=2, key="ws-1")

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "sale"
    assert (event["sale"]["machine"], event["sale"]["total_yen"]) == ("HQ-1F", 300)
    await socket.disconnect()


async def test_an_alert_firing_reaches_an_open_dashboard(manager_user, settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 0}
    socket = await socket_for(manager_user)
    await socket.connect()
    condition = Condition(kind="machine_silent", subject="HQ-1F", message="応答がありません", severity="critical")

    await database_sync_to_async(alerts_apply)(conditions=[condition], now=timezone.now())

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "alert"
    assert (event["alert"]["subject"], event["alert"]["state"]) == ("HQ-1F", "firing")
    await socket.disconnect()


async def test_an_open_dashboard_gets_a_fresh_snapshot_periodically_and_on_request(manager_user, settings):
    settings.DASHBOARD_REFRESH_SECONDS = 0.2
    socket = await socket_for(manager_user)
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
    socket = await socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected
    await asyncio.sleep(6)

    await sell(machine, quantity=1, key="ws-quiet")

    event = await socket.receive_json_from(timeout=2)
    assert event["type"] == "sale" and event["sale"]["total_yen"] == 150
    await socket.disconnect()


async def test_a_sale_reaches_every_dashboard_of_the_process_on_the_redis_layer(
    manager_user, machine, tea_slot, settings
):
    """The process's relay takes each event from Redis once and hands it to all its sockets."""
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}
    sockets = [await socket_for(manager_user) for _ in range(3)]
    for socket in sockets:
        connected, _ = await socket.connect()
        assert connected

    await sell(machine, quantity=1, key="ws-relay")

    for socket in sockets:
        event = await socket.receive_json_from(timeout=2)
        assert event["type"] == "sale" and event["sale"]["status"] == "completed"
        assert await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()


async def test_events_sent_together_reach_the_dashboard_one_by_one_in_order(manager_user, machine, tea_slot, settings):
    """Sales made at once may reach the relay as one batch (`group_send_soon`); the page still gets each event, in
    the order they were made."""
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}
    socket = await socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected
    events = [{"type": "sale", "sale": {"id": number}} for number in range(3)]
    batch = {"type": BATCH_TYPE, "messages": [{"type": "dashboard.event", "event": event} for event in events]}

    await get_channel_layer().group_send(DASHBOARD_GROUP, batch)
    await database_sync_to_async(lambda: [sell_now(machine, key=f"ws-burst-{n}") for n in range(3)])()

    received = [await socket.receive_json_from(timeout=2) for _ in range(6)]
    assert received[:3] == events
    assert [event["type"] for event in received[3:]] == ["sale"] * 3
    assert [event["sale"]["id"] for event in received[3:]] == sorted(event["sale"]["id"] for event in received[3:])
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_an_order_waiting_for_approval_reaches_an_open_dashboard(manager_user):
    order = await database_sync_to_async(PurchaseOrderFactory)(status="draft")
    socket = await socket_for(manager_user)
    await socket.connect()

    await database_sync_to_async(purchase_order_submit)(order=order, actor_label="procurement-agent")

    event = await socket.receive_json_from(timeout=2)
    assert event == {"type": "order", "order": {"id": order.pk, "status": "pending_human_approval"}}
    await socket.disconnect()


CHECK_SECONDS = 0.2


def log_out(browser, user):
    browser.logout()


def session_expires(browser, user):
    Session.objects.filter(session_key=browser.session.session_key).update(expire_date=timezone.now())


def manager_role_removed(browser, user):
    user.groups.remove(Group.objects.get(name=MANAGER))


def deactivated(browser, user):
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize("end", [log_out, session_expires, manager_role_removed, deactivated])
async def test_the_dashboard_socket_closes_when_the_login_ends(manager_user, settings, end):
    settings.DASHBOARD_SESSION_CHECK_SECONDS = CHECK_SECONDS
    browser = await log_in(manager_user)
    socket = await socket_for(manager_user, browser)
    connected, _ = await socket.connect()
    assert connected
    # While the login stands, the socket stays open through several checks.
    assert await socket.receive_nothing(timeout=CHECK_SECONDS * 4)

    await database_sync_to_async(end)(browser, manager_user)

    closed = await socket.receive_output(timeout=CHECK_SECONDS * 10)
    assert closed == {"type": "websocket.close", "code": 4401}
    await socket.wait(timeout=1)


def rename_table(old: str, new: str):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")


async def test_a_login_that_cannot_be_checked_closes_the_socket(manager_user, settings):
    """A real database fault (the sessions table gone for a moment): the socket closes rather than stay unchecked."""
    settings.DASHBOARD_SESSION_CHECK_SECONDS = CHECK_SECONDS
    socket = await socket_for(manager_user)
    connected, _ = await socket.connect()
    assert connected

    await database_sync_to_async(rename_table)("django_session", "django_session_away")
    try:
        closed = await socket.receive_output(timeout=CHECK_SECONDS * 10)
    finally:
        await database_sync_to_async(rename_table)("django_session_away", "django_session")

    assert closed == {"type": "websocket.close", "code": 1011}
