import secrets  # noqa: E402

import pytest  # noqa: E402

from apps.inventory.services import device_token_issue  # noqa: E402
from apps.inventory.tablet_pairing import pairing_cookie_value  # noqa: E402
from tests.agents.conftest import (  # noqa: F401  (the chat API and LINE run on the same shop and fake model)
    cola,
    context,
    device_client,
    fake_anthropic,
    machine,
    model_shopkeeper,
    redis_prefix,
    shop,
    shopkeeper,
    tea,
)
from tests.chats.fake_line import FakeLine  # noqa: E402
from tests.chats.test_deletion import customer_everywhere  # noqa: E402, F401  (a LINE customer's data everywhere)
from tests.chats.test_line import consenting  # noqa: E402, F401  (a LINE customer who consented)


@pytest.fixture
def fake_line(settings):
    """The fake LINE API with our settings pointed at it and a channel secret made up for this test."""
    fake = FakeLine().start()
    settings.LINE_API_BASE_URL = fake.url
    settings.LINE_DATA_API_BASE_URL = fake.url
    settings.LINE_CHANNEL_SECRET = secrets.token_hex(16)
    settings.LINE_CHANNEL_ACCESS_TOKEN = secrets.token_urlsafe(32)
    settings.LINE_RETRY_BASE_WAIT_SECONDS = 0.01  # retries of a refused call need not wait seconds here
    yield fake
    fake.stop()


@pytest.fixture
def paired_cookie(shop):  # noqa: F811  (shop: the imported fixture)
    """The pairing cookie of a tablet at HQ-1F (a fresh device token issued for it)."""
    device_token_issue(machine=shop)
    shop.refresh_from_db()
    return pairing_cookie_value(shop)
