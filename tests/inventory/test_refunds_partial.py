"""Staff refund part of a sale in the admin: chosen lines and quantities, with a reason, paid back through the
provider that took the money, booked and audited; more than is left, or no reason, is refused and changes nothing."""

import pytest
from django.db.models import Sum

from apps.accounting import chart
from apps.accounting.models import JournalLine
from apps.core.models import AuditEntry
from apps.inventory.models import Payment, Sale, StorageStock
from apps.inventory.services.checkout import checkout_payment_confirmed, checkout_start

pytestmark = pytest.mark.django_db

SALES = "/admin/inventory/sale/"


@pytest.fixture
def paid_sale(machine, tea_slot, mask_slot):
    """`paid_sale(provider, fake)`: two teas (¥150) and one mask (¥300) paid through the provider and dispensed."""

    def pay(provider, fake):
        checkout = checkout_start(
            machine=machine,
            items=[{"slot": "A1", "quantity": 2}, {"slot": "G1", "quantity": 1}],
            coupon_code=None,
            provider=provider,
            idempotency_key=f"{provider}-1",
            channel="tablet",
        )
        if provider == "paypay":
            fake.pay(checkout.merchant_payment_id)
            payment_id = fake.payments[checkout.merchant_payment_id]["paymentId"]
        else:
            fake.pay(checkout.provider_session_id)
            payment_id = next(iter(fake.intents))
        checkout_payment_confirmed(checkout=checkout, payment_id=payment_id, amount_yen=600)
        return Sale.objects.get()

    return pay


def refund_in_admin(client, sale, quantities: dict[str, int], reason="破損のため", **extra):
    lines = {line.product.sku: line.pk for line in sale.lines.select_related("product")}
    form = {
        "action": "refund_part",
        "_selected_action": [sale.pk],
        "apply": "1",
        "reason": reason,
        **{f"qty-{lines[sku]}": units for sku, units in quantities.items()},
        **extra,
    }
    return client.post(SALES, form, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def paypay_receivable() -> int:
    totals = JournalLine.objects.filter(account__code=chart.PAYPAY_RECEIVABLE).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    return (totals["d"] or 0) - (totals["c"] or 0)


def test_one_of_two_teas_back_through_paypay_then_the_rest(client, manager_user, paid_sale, fake_paypay):
    sale = paid_sale("paypay", fake_paypay)
    client.force_login(manager_user)

    page = client.post(SALES, {"action": "refund_part", "_selected_action": [sale.pk]})
    assert page.status_code == 200 and "今回返金する数量" in page.content.decode()

    answer = refund_in_admin(client, sale, {"D001": 1})

    assert "150円を返金しました。" in messages_of(answer)
    sale.refresh_from_db()
    assert sale.status == Sale.Status.PARTIALLY_REFUNDED and sale.refunded_yen == 150
    refund = fake_paypay.refunds[next(iter(fake_paypay.refunds))]
    assert refund["amount"] == {"amount": 150, "currency": "JPY"}
    assert refund["paymentId"] == sale.payment.gateway_reference
    assert paypay_receivable() == 450
    audit = AuditEntry.objects.get(action="sale.partial_refund")
    assert audit.reason == "破損のため" and audit.actor == manager_user

    refund_in_admin(client, sale, {"D001": 1, "G001": 1}, reason="返品", return_to_storage="1")

    sale.refresh_from_db()
    assert sale.status == Sale.Status.REFUNDED and sale.refunded_yen == 600
    assert sale.payment.status == Payment.Status.REFUNDED
    assert fake_paypay.refunded_yen() == 600 and len(fake_paypay.refunds) == 2
    assert paypay_receivable() == 0
    assert StorageStock.objects.get(product__sku="G001").quantity == 1


def test_a_card_line_goes_back_through_stripe(client, manager_user, paid_sale, fake_stripe):
    sale = paid_sale("stripe", fake_stripe)
    client.force_login(manager_user)

    refund_in_admin(client, sale, {"G001": 1})

    assert fake_stripe.calls("POST", "/v1/refunds")[0]["form"]["amount"] == "300"
    assert fake_stripe.refunded_yen() == 300


@pytest.mark.parametrize(
    ("quantities", "reason", "message"),
    [
        ({"D001": 3}, "多すぎ", "返金できる数量を超えています。"),
        ({"D001": 0}, "ゼロ", "返金する商品と数量を選んでください。"),
        ({"D001": 1}, "  ", "返金には理由が必要です。"),
    ],
)
def test_more_than_is_left_or_no_reason_is_refused_and_nothing_moves(
    client, manager_user, paid_sale, fake_paypay, quantities, reason, message
):
    sale = paid_sale("paypay", fake_paypay)
    client.force_login(manager_user)

    answer = refund_in_admin(client, sale, quantities, reason=reason)

    assert answer.status_code == 200 and message in messages_of(answer)
    sale.refresh_from_db()
    assert sale.refunded_yen == 0 and sale.status == Sale.Status.COMPLETED
    assert fake_paypay.refunds == {} and not AuditEntry.objects.filter(action="sale.partial_refund").exists()


def test_staff_without_the_refund_permission_cannot(client, staff_user, paid_sale, fake_paypay):
    sale = paid_sale("paypay", fake_paypay)
    client.force_login(staff_user)

    refund_in_admin(client, sale, {"D001": 1})

    sale.refresh_from_db()
    assert sale.refunded_yen == 0 and fake_paypay.refunds == {}
