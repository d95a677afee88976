from tests.agents.conftest import (  # noqa: F401  (the chat API is tested on the same shop)
    cola,
    context,
    device_client,
    machine,
    shop,
    shopkeeper,
    tea,
)
