from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import PermissionDenied, ValidationError
from apps.inventory.models import Coupon, CouponRedemption
from apps.inventory.services import coupon_issue
from tests.factories import CouponFactory


@pytest.mark.django_db
class TestCouponsAtPurchase:
    def test_percent_coupon_discounts_and_is_recorded(self, sell, tea_slot):
        CouponFactory(code="TENOFF", kind="percent", value=10)

        outcome = sell(key="a", coupon="tenoff", quantity=2)

        assert outcome.receipt["subtotal_yen"] == 300
        assert outcome.receipt["discount_yen"] == 30
        assert outcome.receipt["total_yen"] == 270
        assert outcome.receipt["tax"] == [{"rate": 8, "total_yen": 270, "tax_yen": 20}]
        assert outcome.sale.payment.amount_yen == 270
        assert CouponRedemption.objects.get().discount_yen == 30

    def test_yen_coupon_never_makes_the_total_negative(self, sell, tea_slot):
        CouponFactory(code="BIG", kind="yen", value=1000)

        outcome = sell(key="a", coupon="BIG")

        assert outcome.receipt["total_yen"] == 0
        assert outcome.sale.payment.status == "captured"

    def test_expired_coupon_is_refused(self, sell, tea_slot):
        CouponFactory(code="OLD", valid_until=timezone.now() - timedelta(minutes=1))

        with pytest.raises(ValidationError) as refused:
            sell(key="a", coupon="OLD")

        assert refused.value.details["reason"] == "expired"
        assert "有効期限" in refused.value.message

    def test_used_up_coupon_is_refused(self, sell, tea_slot):
        CouponFactory(code="ONCE", max_uses=1)
        sell(key="a", coupon="ONCE")

        with pytest.raises(ValidationError) as refused:
            sell(key="b", coupon="ONCE")

        assert refused.value.details["reason"] == "used_up"

    def test_per_customer_limit_counts_by_customer_key(self, sell, tea_slot):
        CouponFactory(code="WELCOME", max_uses=None, max_uses_per_customer=1)
        sell(key="a", coupon="WELCOME", customer_key="line:U1")

        with pytest.raises(ValidationError) as refused:
            sell(key="b", coupon="WELCOME", customer_key="line:U1")
        other_customer = sell(key="c", coupon="WELCOME", customer_key="line:U2")

        assert refused.value.details["reason"] == "used_by_customer"
        assert other_customer.sale.discount_yen == 50

    def test_per_customer_coupon_needs_a_known_customer(self, sell, tea_slot):
        CouponFactory(code="WELCOME", max_uses_per_customer=1)

        with pytest.raises(ValidationError) as refused:
            sell(key="a", coupon="WELCOME")

        assert refused.value.details["reason"] == "customer_required"

    def test_unknown_coupon_is_refused_through_the_api(self, device_client, tea_slot):
        response = device_client.post(
            "/api/machines/HQ-1F/purchases/",
            {"items": [{"slot": "A1"}], "coupon": "NOPE", "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k",
        )

        assert response.status_code == 400
        assert "NOPE" in response.json()["error"]["message"]


@pytest.mark.django_db
class TestCouponIssue:
    def test_agent_issues_a_coupon_with_a_generated_code(self):
        coupon = coupon_issue(kind="percent", value=15, valid_days=7, max_uses_per_customer=1, actor_label="agent:ミナ")

        assert coupon.code.startswith("VB-")
        assert coupon.issued_by_label == "agent:ミナ"
        assert timezone.now() + timedelta(days=6) < coupon.valid_until < timezone.now() + timedelta(days=8)

    @pytest.mark.parametrize(("kind", "value"), [("percent", 0), ("percent", 101), ("yen", 0), ("gift", 10)])
    def test_nonsense_coupons_are_refused(self, kind, value):
        with pytest.raises(ValidationError):
            coupon_issue(kind=kind, value=value)
        assert not Coupon.objects.exists()

    def test_staff_cannot_issue_coupons(self, staff_user):
        with pytest.raises(PermissionDenied):
            coupon_issue(kind="yen", value=50, actor=staff_user)

    def test_manager_issues_a_coupon(self, manager_user):
        coupon = coupon_issue(kind="yen", value=50, code="thanks", actor=manager_user)

        assert coupon.code == "THANKS"
        assert coupon.issued_by == manager_user
