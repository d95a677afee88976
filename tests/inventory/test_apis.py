import pytest
from rest_framework.test import APIClient

from apps.inventory.models import CouponRedemption, Payment, Sale, StockMovement
from apps.inventory.selectors import receipt_invoice_lines, stock_integrity_problems
from apps.inventory.services import device_token_issue
from tests.factories import CouponFactory, MachineFactory

PURCHASES = "/api/machines/HQ-1F/purchases/"


def buy(client, items, *, key="key-1", coupon=None, method="card"):
    body = {"items": items, "coupon": coupon, "payment_method": method}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(PURCHASES, body, format="json", **headers)


@pytest.mark.django_db
class TestPurchase:
    def test_receipt_has_lines_totals_and_tax_per_rate(self, device_client, tea_slot, mask_slot):
        response = buy(device_client, [{"slot": "A1", "quantity": 2}, {"slot": "G1", "quantity": 1}])

        assert response.status_code == 201, response.json()
        receipt = response.json()
        assert [(line["slot"], line["quantity"], line["total_yen"]) for line in receipt["lines"]] == [
            ("A1", 2, 300),
            ("G1", 1, 300),
        ]
        assert receipt["total_yen"] == 600
        assert receipt["tax"] == [
            {"rate": 8, "total_yen": 300, "tax_yen": 22},
            {"rate": 10, "total_yen": 300, "tax_yen": 27},
        ]
        assert receipt["payment"] == {"method": "card", "status": "captured", "amount_yen": 600}
        assert receipt["message"] == ""
        tea_slot.refresh_from_db()
        mask_slot.refresh_from_db()
        assert (tea_slot.quantity, mask_slot.quantity) == (1, 3)
        sale = Sale.objects.get()
        assert sale.channel == "tablet"
        assert sale.cost_yen == 2 * 70 + 150
        assert list(sale.lines.values_list("unit_cost_yen", flat=True)) == [70, 150]
        assert stock_integrity_problems() == []

    def test_products_list_shows_stock_price_and_tax(self, device_client, tea_slot, mask_slot):
        response = device_client.get("/api/machines/HQ-1F/products/")

        assert response.status_code == 200
        by_slot = {row["slot"]: row for row in response.json()}
        assert by_slot["A1"]["price_yen"] == 150
        assert by_slot["A1"]["tax_rate"] == 8
        assert by_slot["A1"]["quantity"] == 3
        assert by_slot["G1"]["tax_rate"] == 10

    def test_sold_out_is_409_and_writes_nothing(self, device_client, tea_slot):
        response = buy(device_client, [{"slot": "A1", "quantity": 4}])

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "sold_out"
        assert response.json()["error"]["details"] == {"slot": "A1", "available": 3}
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3
        assert not Sale.objects.exists()
        assert not StockMovement.objects.filter(kind="sale").exists()

    def test_declined_payment_is_402_and_sells_nothing(self, device_client, tea_slot, settings):
        settings.PAYMENT_DECLINE_RATE = 1.0
        CouponFactory(code="ONCE", kind="yen", value=50, max_uses=1)

        response = buy(device_client, [{"slot": "A1", "quantity": 1}], coupon="ONCE")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "payment_declined"
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3
        assert not Sale.objects.exists()  # the attempt stays on record as failed, outside every report
        assert Sale.attempts.get().status == Sale.Status.FAILED
        assert Payment.objects.get().status == Payment.Status.DECLINED
        assert not CouponRedemption.objects.exists()
        assert stock_integrity_problems() == []

    def test_after_a_decline_the_same_key_stays_declined_and_a_new_key_pays(self, device_client, tea_slot, settings):
        settings.PAYMENT_DECLINE_RATE = 1.0
        buy(device_client, [{"slot": "A1", "quantity": 1}], key="first-try")
        settings.PAYMENT_DECLINE_RATE = 0.0

        same_key = buy(device_client, [{"slot": "A1", "quantity": 1}], key="first-try")
        new_key = buy(device_client, [{"slot": "A1", "quantity": 1}], key="second-try")

        assert same_key.status_code == 402
        assert new_key.status_code == 201
        assert Sale.objects.count() == 1

    @pytest.mark.parametrize(
        ("items", "key", "method"),
        [
            ([{"slot": "A1", "quantity": 1}], None, "card"),
            ([{"slot": "Z9", "quantity": 1}], "k", "card"),
            ([{"slot": "A1", "quantity": 0}], "k", "card"),
            ([], "k", "card"),
            ([{"slot": "A1", "quantity": 1}], "k", "bitcoin"),
            (["A1"], "k", "card"),
            ({"slot": "A1"}, "k", "card"),
            ([{"slot": "A1", "quantity": "1"}], "k", "card"),
            ([{"slot": ["A1"], "quantity": 1}], "k", "card"),
        ],
        ids=[
            "no-idempotency-key",
            "unknown-slot",
            "zero-quantity",
            "no-items",
            "unknown-method",
            "items-not-objects",
            "items-not-a-list",
            "quantity-not-a-number",
            "slot-not-a-string",
        ],
    )
    def test_bad_input_is_400_invalid(self, device_client, tea_slot, items, key, method):
        response = buy(device_client, items, key=key, method=method)

        assert response.status_code == 400
        body = response.json()["error"]
        assert body["code"] == "invalid"
        assert body["message"]
        assert not Sale.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"items": [{"slot": "A1"}], "coupon": 5, "payment_method": "card"}, "coupon"),
            ({"items": [{"slot": "A1"}], "coupon": "C" * 33, "payment_method": "card"}, "coupon"),
            ({"items": [{"slot": "A1"}]}, "payment_method"),
            ({"items": [{"slot": "A1"}], "payment_method": ["card"]}, "payment_method"),
            ([{"slot": "A1"}], None),
        ],
        ids=["coupon-not-a-string", "coupon-too-long", "no-payment-method", "method-not-a-string", "not-an-object"],
    )
    def test_a_body_of_the_wrong_shape_is_400_naming_its_field(self, device_client, tea_slot, body, field):
        response = device_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k")

        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["message"]
        assert error["details"].get("field") == field
        assert not Sale.attempts.exists()

    def test_a_body_naming_thousands_of_slots_is_400_not_a_database_error(self, device_client, tea_slot):
        # SQLite takes at most 32,766 parameters in one statement; a 2.5 MB body can name more slots than that.
        items = [{"slot": f"X{number}", "quantity": 1} for number in range(40_000)]

        response = buy(device_client, items, key="many-slots")

        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"field": "items"}
        assert "50" in response.json()["error"]["message"]
        assert not Sale.attempts.exists()

    def test_same_key_returns_first_answer_and_charges_once(self, device_client, tea_slot, fresh_terminal):
        first = buy(device_client, [{"slot": "A1", "quantity": 1}], key="retry-me")
        again = buy(device_client, [{"slot": "A1", "quantity": 1}], key="retry-me")

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert Sale.objects.count() == 1
        assert Payment.objects.count() == 1
        assert fresh_terminal.totals()[0] == 1
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2

    def test_same_key_with_another_body_is_refused(self, device_client, tea_slot):
        buy(device_client, [{"slot": "A1", "quantity": 1}], key="k")

        response = buy(device_client, [{"slot": "A1", "quantity": 2}], key="k")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert Sale.objects.count() == 1

    def test_jam_refunds_the_customer_and_keeps_the_item_in_the_slot_count(self, device_client, tea_slot, settings):
        settings.DISPENSER_JAM_RATE = 1.0

        response = buy(device_client, [{"slot": "A1", "quantity": 2}])

        assert response.status_code == 201
        receipt = response.json()
        assert receipt["status"] == "refunded"
        assert receipt["refunded_yen"] == 300
        assert receipt["lines"][0]["dispensed_quantity"] == 0
        assert "返金" in receipt["message"]
        assert Payment.objects.get().status == "refunded"
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3
        assert stock_integrity_problems() == []


@pytest.mark.django_db
class TestAccess:
    def test_no_credentials_is_401(self, machine, tea_slot):
        response = buy(APIClient(), [{"slot": "A1", "quantity": 1}])

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    def test_wrong_token_is_401(self, machine):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Device not-a-real-token")

        assert client.get("/api/machines/HQ-1F/products/").status_code == 401

    def test_another_machines_token_is_403(self, machine, tea_slot):
        other = MachineFactory(code="HQ-2F", name="本社2F")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=other)}")

        response = buy(client, [{"slot": "A1", "quantity": 1}])

        assert response.status_code == 403
        assert not Sale.objects.exists()

    def test_reissued_token_replaces_the_old_one(self, machine):
        old = device_token_issue(machine=machine)
        device_token_issue(machine=machine)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {old}")

        assert client.get("/api/machines/HQ-1F/products/").status_code == 401

    def test_staff_session_can_sell_from_the_admin_channel(self, staff_user, tea_slot):
        client = APIClient()
        client.force_authenticate(staff_user)

        response = buy(client, [{"slot": "A1", "quantity": 1}])

        assert response.status_code == 201
        assert Sale.objects.get().channel == "admin"

    def test_unknown_machine_is_404(self, staff_user):
        client = APIClient()
        client.force_authenticate(staff_user)

        response = client.get("/api/machines/NOPE/products/")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_schema_and_docs_are_served(self, staff_user):
        client = APIClient()
        client.force_authenticate(staff_user)

        schema = client.get("/api/schema/")

        assert schema.status_code == 200
        assert b"/api/machines/{code}/purchases/" in schema.content
        assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_the_receipt_is_a_qualified_simplified_invoice(settings, device_client, tea_slot, mask_slot):
    settings.INVOICE_ISSUER_NAME = "株式会社ベンドボット"
    settings.INVOICE_REGISTRATION_NUMBER = "T7010705000725"
    receipt = buy(device_client, [{"slot": "A1", "quantity": 2}, {"slot": "G1", "quantity": 1}]).json()

    assert receipt["issuer"] == {"name": "株式会社ベンドボット", "registration_number": "T7010705000725"}
    assert [line["reduced_rate"] for line in receipt["lines"]] == [True, False]
    text = receipt_invoice_lines(receipt)
    assert text[:2] == ["株式会社ベンドボット", "登録番号 T7010705000725"]
    assert text[2].endswith("日") and text[2].startswith(receipt["issued_on"][:4] + "年")
    names = [line["name"] for line in receipt["lines"]]
    assert text[3] == f"{names[0]} ※ × 2  300円" and text[4] == f"{names[1]} × 1  300円"
    assert text[-3:] == [
        "8%対象 300円（内消費税 22円）",
        "10%対象 300円（内消費税 27円）",
        "※は軽減税率（8%）対象商品です。",
    ]


@pytest.mark.django_db
def test_staff_print_a_sale_receipt_from_the_admin(client, staff_user, device_client, tea_slot):
    buy(device_client, [{"slot": "A1", "quantity": 1}])
    client.force_login(staff_user)
    sale = Sale.objects.get()
    change = client.get(f"/admin/inventory/sale/{sale.pk}/change/").content.decode()
    assert f"/admin/inventory/sale/{sale.pk}/receipt/" in change
    page = client.get(f"/admin/inventory/sale/{sale.pk}/receipt/").content.decode()
    assert "領収書" in page and "※ × 1" in page and "8%対象 150円（内消費税 11円）" in page
