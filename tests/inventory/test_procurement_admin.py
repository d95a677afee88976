"""The approval desk, used as staff use it: log in, open the pending order, approve, reject, receive."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.inventory.models import PurchaseOrder, StockLot, StorageStock
from tests.factories import PurchaseOrderFactory, SupplierFactory, UserFactory

Status = PurchaseOrder.Status
CHANGELIST = reverse("admin:inventory_purchaseorder_changelist")


def log_in(client, username: str):
    """Through the admin's own login form, with the factories' password."""
    response = client.post(
        reverse("admin:login"), {"username": username, "password": "correct-horse-battery", "next": "/admin/"}
    )
    assert response.status_code == 302, "login failed"


@pytest.fixture
def pending(tea_slot):
    """The agent's proposal: 16 teas from 信頼商事 with its reasoning and comparison; then a received order."""
    order = PurchaseOrderFactory(
        supplier=SupplierFactory(name="信頼商事", contact_email="order@shinrai.example.invalid"),
        line__product=tea_slot.product,
        line__quantity=16,
        line__unit_cost_yen=60,
        reasoning="緑茶: 過去14日で28個販売。納期2日＋10日分に16個不足。",
        offer_comparison=[
            {"sku": "D001", "product": "緑茶", "sold": 28, "on_hand": 8, "offers": [
                {"supplier": "信頼商事", "unit_cost_yen": 60, "pack_size": 1, "lead_time_days": 2,
                 "reliability_score": 90, "reliable": True, "quantity": 16, "cost_yen": 960,
                 "landed_unit_cost_yen": 60.0, "chosen": True},
                {"supplier": "格安問屋", "unit_cost_yen": 50, "pack_size": 1, "lead_time_days": 2,
                 "reliability_score": 40, "reliable": False, "quantity": 16, "cost_yen": 800,
                 "landed_unit_cost_yen": 50.0, "chosen": False},
            ]},
        ],
    )  # fmt: skip
    PurchaseOrderFactory(status=Status.RECEIVED, supplier=SupplierFactory(name="過去の仕入先"))  # newer, but done
    return order


@pytest.mark.django_db
class TestApprovalDesk:
    def test_staff_logs_in_opens_the_pending_order_and_approves_it(
        self, client, staff_user, pending, django_capture_on_commit_callbacks
    ):
        log_in(client, staff_user.username)

        listing = client.get(CHANGELIST).content.decode()
        assert "承認待ち 1件" in listing
        assert listing.index(str(pending)) < listing.index("過去の仕入先")  # pending orders first

        page = client.get(reverse("admin:inventory_purchaseorder_change", args=[pending.pk])).content.decode()
        assert "16個不足" in page
        assert "格安問屋" in page and "¥960" in page
        assert 'value="approve"' in page

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(CHANGELIST, {"action": "approve", "_selected_action": [pending.pk]}, follow=True)

        assert "order@shinrai.example.invalid に発注しました" in response.content.decode()
        pending.refresh_from_db()
        assert (pending.status, pending.approved_by) == (Status.ORDERED, staff_user)
        [email] = mail.outbox
        assert email.to == ["order@shinrai.example.invalid"]
        assert "16個" in email.body
        entry = AuditEntry.objects.filter(object_id=str(pending.pk), to_state=Status.APPROVED).get()
        assert (entry.actor, entry.from_state) == (staff_user, Status.PENDING_HUMAN_APPROVAL)

    def test_the_creator_is_told_they_cannot_approve(self, client, staff_user, pending):
        PurchaseOrder.objects.filter(pk=pending.pk).update(created_by=staff_user)
        log_in(client, staff_user.username)

        response = client.post(CHANGELIST, {"action": "approve", "_selected_action": [pending.pk]}, follow=True)

        assert "自分で作成した発注は承認できません" in response.content.decode()
        pending.refresh_from_db()
        assert pending.status == Status.PENDING_HUMAN_APPROVAL

    def test_rejecting_asks_for_a_reason_first(self, client, staff_user, pending):
        log_in(client, staff_user.username)
        chosen = {"action": "reject", "_selected_action": [pending.pk]}

        form = client.post(CHANGELIST, chosen)
        assert form.status_code == 200 and 'name="reason"' in form.content.decode()
        empty = client.post(CHANGELIST, {**chosen, "apply": "1", "reason": " "}, follow=True)
        assert "却下には理由が必要です" in empty.content.decode()
        pending.refresh_from_db()
        assert pending.status == Status.PENDING_HUMAN_APPROVAL

        client.post(CHANGELIST, {**chosen, "apply": "1", "reason": "在庫が余っている"})

        pending.refresh_from_db()
        assert (pending.status, pending.rejection_reason) == (Status.REJECTED, "在庫が余っている")

    def test_receiving_form_records_a_partial_delivery(self, client, staff_user, pending):
        PurchaseOrder.objects.filter(pk=pending.pk).update(status=Status.ORDERED)
        line = pending.lines.get()
        log_in(client, staff_user.username)
        url = reverse("admin:inventory_purchaseorder_receive", args=[pending.pk])

        assert f'name="line_{line.pk}"' in client.get(url).content.decode()
        response = client.post(url, {f"line_{line.pk}": 10, "note": "納品書 A-123"})

        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.status == Status.PARTIALLY_RECEIVED
        assert StorageStock.objects.get(product=line.product).quantity == 15  # 5 + 10

    def test_receiving_form_records_the_labels_date_on_the_lot(self, client, staff_user, pending):
        PurchaseOrder.objects.filter(pk=pending.pk).update(status=Status.ORDERED)
        line = pending.lines.get()
        log_in(client, staff_user.username)
        url = reverse("admin:inventory_purchaseorder_receive", args=[pending.pk])

        client.post(url, {f"line_{line.pk}": 3, f"expires_{line.pk}": "2030-01-31", f"kind_{line.pk}": "use_by"})

        lot = StockLot.objects.filter(product=line.product).latest("id")
        assert (lot.quantity, lot.expires_on.isoformat(), lot.date_kind) == (3, "2030-01-31", "use_by")

    def test_without_the_permission_there_is_no_approve_action(self, client, pending):
        viewer = UserFactory(username="viewer", is_staff=True)
        viewer.user_permissions.add(
            Permission.objects.get(content_type__app_label="inventory", codename="view_purchaseorder")
        )
        log_in(client, viewer.username)

        page = client.get(reverse("admin:inventory_purchaseorder_change", args=[pending.pk])).content.decode()
        client.post(CHANGELIST, {"action": "approve", "_selected_action": [pending.pk]})

        assert "16個不足" in page and 'value="approve"' not in page
        pending.refresh_from_db()
        assert pending.status == Status.PENDING_HUMAN_APPROVAL


@pytest.mark.django_db
class TestSupplierAdmin:
    def test_a_manager_adds_an_offer_for_a_product_or_a_described_new_one(self, client, manager_user, tea_slot):
        supplier = SupplierFactory(name="丸山食品")
        log_in(client, manager_user.username)
        url = reverse("admin:inventory_supplieroffer_add")
        offer = {"supplier": supplier.pk, "unit_cost_yen": 64, "pack_size": 24, "source": "見積書"}

        neither = client.post(url, offer)
        assert "どちらか一方" in neither.content.decode()

        assert client.post(url, {**offer, "product": tea_slot.product.pk}).status_code == 302
        assert client.post(url, {**offer, "new_product_description": "抹茶オレ 250ml"}).status_code == 302
        assert [(o.product, o.new_product_description) for o in supplier.offers.order_by("id")] == [
            (tea_slot.product, ""),
            (None, "抹茶オレ 250ml"),
        ]
