"""A Redis outage under load: purchases and chats keep succeeding, and the log gets one line per failing dependency
(the cache and shared limits, the channel layer, the Celery broker) instead of a traceback per request."""

import logging

import pytest
from channels.layers import channel_layers
from rest_framework.test import APIClient

from apps.inventory.models import Sale
from apps.inventory.services import device_token_issue
from tests.agents import conftest as agents
from tests.factories import ProductFactory, SlotFactory, stock_slot
from vendbot.celery import app as celery_app

machine, shopkeeper = agents.machine, agents.shopkeeper

PURCHASES = 30
CHATS = 20


@pytest.fixture
def shop_on_private_redis(machine, shopkeeper, private_redis, settings):
    """The shop with every Redis user pointed at a Redis the test kills: cache, shared limits, channel layer, and a
    real (not eager) Celery broker, so web code publishes its tasks as it does in production."""
    shopkeeper.provider = shopkeeper.Provider.ANTHROPIC
    shopkeeper.save(update_fields=["provider"])
    settings.ANTHROPIC_API_KEY = "test-unused"  # the model is chosen, so the customer limits are counted in Redis
    settings.REDIS_URL = private_redis.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url}}
    host = {"address": private_redis.url, "socket_timeout": 2}
    settings.CHANNEL_LAYERS = {"default": {**settings.REDIS_CHANNEL_LAYER, "CONFIG": {"hosts": [host]}}}
    channel_layers.backends.clear()
    saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    _use_broker(False, private_redis.url)
    try:
        yield machine
    finally:
        _use_broker(*saved)
        channel_layers.backends.clear()


def _use_broker(eager: bool, url: str) -> None:
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = eager, url
    # Celery keeps the producer pool of the broker it first published to: dropped, the next publish makes one for `url`.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_a_redis_outage_logs_one_line_per_dependency_and_requests_still_succeed(
    shop_on_private_redis, private_redis, caplog, fresh_dependency_log
):
    shop = shop_on_private_redis
    # Deep enough for every purchase; the last five take the slot below its par level, which queues planning.
    slot = SlotFactory(machine=shop, code="B1", product=ProductFactory(price_yen=120), capacity=40, par_level=5)
    stock_slot(slot, PURCHASES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=shop)}")
    caplog.set_level(logging.INFO)

    private_redis.kill()
    for attempt in range(PURCHASES):
        bought = client.post(
            "/api/machines/HQ-1F/purchases/",
            {"items": [{"slot": "B1", "quantity": 1}], "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"outage-{attempt}",
        )
        assert bought.status_code == 201, bought.json()
    for _ in range(CHATS):
        chatted = client.post("/api/machines/HQ-1F/chat/", {"message": "おすすめは？"}, format="json")
        assert chatted.status_code == 200, chatted.json()
        assert chatted.json()["reply"]

    assert Sale.objects.count() == PURCHASES
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    failures = [r for r in caplog.records if r.name == "vendbot.dependencies"]
    by_dependency = {}
    for record in failures:
        by_dependency.setdefault(record.dependency, []).append(record.getMessage())
    assert set(by_dependency) == {"redis", "channel_layer", "celery_broker"}, by_dependency
    assert all(len(lines) <= 2 for lines in by_dependency.values()), by_dependency
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == len(failures), [r.getMessage() for r in errors]
