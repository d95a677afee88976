"""What `bench/load_locust.py` has locust do: tablet customers browsing, chatting and buying, and LINE delivering
webhooks, spread over the web processes named in LOAD_HOSTS. Run by the bench (headless, bounded, loopback only);
it reads LOAD_HOSTS, LOAD_DEVICE_TOKEN, LOAD_MACHINE, LOAD_LINE_SECRET and LOAD_REPLY_TOKENS from the environment."""

import itertools
import json
import os
import sys
import uuid
from pathlib import Path

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from line_webhook import signed_event  # noqa: E402  (the LINE bench's signed one-event body)

HOSTS = os.environ.get("LOAD_HOSTS", "http://127.0.0.1:8000").split(",")
MACHINE = os.environ.get("LOAD_MACHINE", "BENCH-1")
REPLY_TOKENS = int(os.environ.get("LOAD_REPLY_TOKENS", "0"))
_users = itertools.count()
_reply_tokens = itertools.count()
PURCHASE = json.dumps({"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"})


class ShopCustomer(FastHttpUser):
    """One tablet or LINE user; users are dealt to the web processes in turn, as a load balancer would."""

    host = HOSTS[0]
    wait_time = between(0.05, 0.25)

    def on_start(self):
        self.base = HOSTS[next(_users) % len(HOSTS)]
        self.device = {"Authorization": f"Device {os.environ['LOAD_DEVICE_TOKEN']}", "Content-Type": "application/json"}

    @task(5)
    def browse(self):
        self.client.get(f"{self.base}/api/machines/{MACHINE}/products/", headers=self.device, name="browse")

    @task(2)
    def buy(self):
        headers = {**self.device, "Idempotency-Key": uuid.uuid4().hex}
        url = f"{self.base}/api/machines/{MACHINE}/purchases/"
        self.client.post(url, data=PURCHASE, headers=headers, name="purchase")

    @task(2)
    def chat(self):
        body = json.dumps({"conversation": None, "message": "お茶ありますか？"}, ensure_ascii=False)
        self.client.post(f"{self.base}/api/machines/{MACHINE}/chat/", data=body, headers=self.device, name="chat")

    @task(1)
    def line_webhook(self):
        token = f"load-{next(_reply_tokens) % max(REPLY_TOKENS, 1)}"
        body, signature = signed_event(os.environ["LOAD_LINE_SECRET"], reply_token=token)
        headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
        self.client.post(f"{self.base}/line/webhook/", data=body, headers=headers, name="line webhook")
