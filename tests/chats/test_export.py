"""A customer's data export: 「データ確認」 on LINE answers a link (its token in the fragment) to one JSON file of
everything held about them; staff export the same file from the customer admin."""

import json
import re

from django.urls import reverse

from apps.agents.models import Case
from apps.chats.models import Customer
from apps.inventory.models import Sale
from tests.chats.test_line import post_webhook, text_event

TOKEN = re.compile(r"/me/export/#token=(\S+)")


def test_line_data_check_sends_a_link_to_the_complete_file(customer_everywhere, fake_line, client):
    customer = customer_everywhere
    post_webhook(text_event(fake_line, "データ確認"))
    token = TOKEN.search(fake_line.texts()[-1]).group(1)
    assert client.get("/me/export/").status_code == 200

    response = client.post("/me/export/", {"token": token})

    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["format"] == "vendbot.customer-export/1"
    assert (data["customer"]["key"], data["customer"]["display_name"]) == (customer.key, "テスト花子")
    said = [m["text"] for c in data["conversations"] for m in c["messages"] if m["sender"] == "customer"]
    assert "こんにちは、ミカン星人です" in said and "（画像）" in said
    assert any(m["picture"] for c in data["conversations"] for m in c["messages"])
    assert [case["text"] for case in data["cases"]] == [Case.objects.get().text]
    assert data["cases"][0]["answers"][0]["text"] == "ミカン星人様、申し訳ございません"
    assert data["ratings"][0]["comment"] == "ミカン星人は不満です"
    assert data["product_requests"][0]["name"] == "ミカン星人ジュース"
    assert [sale["id"] for sale in data["purchases"]] == list(Sale.objects.values_list("pk", flat=True))
    assert data["purchases"][0]["lines"][0]["sku"] == "COLA"
    assert data["coupons_given"][0]["percent"] == 10


def test_a_forged_or_stale_link_gets_nothing(customer_everywhere, client, settings):
    from apps.chats.export import export_link

    token = TOKEN.search(export_link(customer=customer_everywhere)).group(1)
    forged = client.post("/me/export/", {"token": token[:-2] + "xx"})
    settings.CUSTOMER_EXPORT_LINK_MINUTES = -1
    stale = client.post("/me/export/", {"token": token})

    assert (forged.status_code, stale.status_code) == (404, 404)
    assert forged.json()["error"]["code"] == "not_found"


def test_staff_export_a_customers_file_and_only_managers_delete_it(
    customer_everywhere,
    client,
    staff_user,
    manager_user,
):
    url = reverse("admin:chats_customer_changelist")
    selected = {"_selected_action": [customer_everywhere.pk]}
    client.force_login(staff_user)

    exported = client.post(url, {"action": "export_data", **selected})
    refused = client.post(url, {"action": "delete_data", **selected})

    assert json.loads(exported.content)["customer"]["key"] == customer_everywhere.key
    assert refused.status_code in (200, 302) and Customer.objects.exists()
    client.force_login(manager_user)
    client.post(url, {"action": "delete_data", **selected})
    assert not Customer.objects.exists()
