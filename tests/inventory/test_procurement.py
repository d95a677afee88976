"""Procurement: planning proposes, people approve, receiving fills the back room."""

import datetime
import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.db.models import Sum
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounting.chart import ACCOUNTS_PAYABLE
from apps.accounting.models import JournalLine, PayablePayment
from apps.accounting.postings import post_supplier_payment
from apps.accounting.selectors.payables import open_payables
from apps.accounting.services.payables import payables_pay
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from apps.inventory.demo import seed
from apps.inventory.models import Product, PurchaseOrder, StockLot, StockMovement, StorageStock, Supplier, SupplierOffer
from apps.inventory.selectors import purchase_order_invoices
from apps.inventory.services import (
    procurement_plan,
    product_request_record,
    purchase_order_approve,
    purchase_order_cancel,
    purchase_order_pay_supplier,
    purchase_order_reasoning_set,
    purchase_order_receive,
    purchase_order_reject,
    purchase_order_submit,
    stock_adjust,
    stock_receive,
)
from apps.inventory.tasks import procurement_plan as planning_job
from tests.factories import (
    PurchaseOrderFactory,
    SupplierFactory,
    SupplierOfferFactory,
    UserFactory,
    sold_on,
)

Status = PurchaseOrder.Status


def history(slot, units: int):
    """`units` of the slot's product sold three days ago."""
    sold_on(slot=slot, at=timezone.now() - datetime.timedelta(days=3), quantity=units, unit_price_yen=150)


@pytest.fixture
def tea_offers(tea_slot):
    """Three offers for the tea: the cheapest from an unreliable wholesaler, then two reliable suppliers."""
    tea = tea_slot.product
    return {
        "unreliable": SupplierOfferFactory(
            supplier=SupplierFactory(name="格安問屋", reliability_score=40), product=tea, unit_cost_yen=50
        ),
        "cheaper": SupplierOfferFactory(
            supplier=SupplierFactory(
                name="信頼商事", reliability_score=90, contact_email="order@shinrai.example.invalid"
            ),
            product=tea,
            unit_cost_yen=60,
        ),
        "dearer": SupplierOfferFactory(
            supplier=SupplierFactory(name="老舗食品", reliability_score=95), product=tea, unit_cost_yen=65
        ),
    }


def audit_trail(order) -> list[tuple[str, str, str]]:
    entries = AuditEntry.objects.filter(object_id=str(order.pk), action__startswith="purchase_order.")
    return [(entry.from_state, entry.to_state, entry.reason) for entry in entries.order_by("id")]


@pytest.mark.django_db
class TestPlanning:
    def test_nothing_is_proposed_while_stock_covers_the_target(self, tea_slot, tea_offers):
        history(tea_slot, 7)  # half a unit a day: 8 on hand cover 2 days' lead time and 10 days

        plan = procurement_plan()

        assert plan.orders == []
        assert not PurchaseOrder.objects.exists()

    def test_proposes_the_cheaper_reliable_offer_for_the_shortfall(
        self, tea_slot, tea_offers, staff_user, django_capture_on_commit_callbacks
    ):
        history(tea_slot, 28)  # two a day: 24 needed for 2 + 10 days, 8 on hand

        with django_capture_on_commit_callbacks(execute=True):
            [order] = procurement_plan().orders

        order.refresh_from_db()
        assert order.status == Status.PENDING_HUMAN_APPROVAL
        assert order.supplier.name == "信頼商事"
        assert [(line.product.sku, line.quantity, line.unit_cost_yen) for line in order.lines.all()] == [
            ("D001", 16, 60)
        ]
        assert order.total_yen == 960
        assert order.created_by is None and order.created_by_label == "procurement-agent"
        assert "16個不足" in order.reasoning and "信頼商事" in order.reasoning
        [comparison] = order.offer_comparison
        assert [(row["supplier"], row["reliable"], row["chosen"]) for row in comparison["offers"]] == [
            ("信頼商事", True, True),
            ("老舗食品", True, False),
            ("格安問屋", False, False),
        ]
        assert audit_trail(order) == [("", Status.DRAFT, ""), (Status.DRAFT, Status.PENDING_HUMAN_APPROVAL, "")]
        [notice] = mail.outbox
        assert notice.to == [staff_user.email]
        assert "承認待ち" in notice.subject and "信頼商事" in notice.body

    def test_what_was_thrown_away_is_ordered_less_of_and_a_dated_product_covers_only_its_shelf_life(
        self, tea_slot, tea_offers
    ):
        history(tea_slot, 28)  # two a day: 24 for 2 + 10 days without waste (test above)
        stock_receive(
            product=tea_slot.product,
            quantity=7,
            unit_cost_yen=70,
            expires_on=timezone.localdate() + datetime.timedelta(days=5),  # keeps five days from delivery
        )
        stock_adjust(product=tea_slot.product, quantity_delta=-7, is_waste=True, reason="期限切れ")  # a fifth wasted

        [order] = procurement_plan().orders

        # 2 a day over 2 + 5 days = 14, less the 20 % wasted → ⌈11.2⌉ = 12, less 8 on hand = 4.
        assert order.lines.get().quantity == 4
        assert "期限は納品から5日" in order.reasoning and "廃棄7個（20%）" in order.reasoning

    def test_pack_size_rounds_up_and_counts_in_the_landed_cost(self, tea_slot):
        history(tea_slot, 28)  # 16 short
        SupplierOfferFactory(supplier=SupplierFactory(name="ケース問屋"), product=tea_slot.product,
                             unit_cost_yen=58, pack_size=24)  # fmt: skip
        SupplierOfferFactory(supplier=SupplierFactory(name="バラ売り商店"), product=tea_slot.product, unit_cost_yen=62)

        [order] = procurement_plan().orders

        # 24 × ¥58 = ¥1,392 for 16 needed units (¥87 each) loses to 16 × ¥62 = ¥992.
        assert order.supplier.name == "バラ売り商店"
        assert order.lines.get().quantity == 16

    def test_only_unreliable_offers_are_proposed_with_a_warning(self, tea_slot, tea_offers):
        history(tea_slot, 28)
        Supplier.objects.exclude(name="格安問屋").update(active=False)

        [order] = procurement_plan().orders

        assert order.supplier.name == "格安問屋"
        assert "信頼度の基準を満たす仕入先がない" in order.reasoning

    def test_never_a_second_open_order_for_the_same_product(self, tea_slot, tea_offers):
        history(tea_slot, 28)

        first = procurement_plan().orders
        again = procurement_plan().orders

        assert len(first) == 1 and again == []
        assert PurchaseOrder.objects.count() == 1

    def test_a_slot_running_low_triggers_planning_once(
        self, tea_slot, tea_offers, sell, django_capture_on_commit_callbacks
    ):
        history(tea_slot, 28)

        with django_capture_on_commit_callbacks(execute=True):
            sell(key="low-1")  # 3 → 2, below the par level of 5
        with django_capture_on_commit_callbacks(execute=True):
            sell(key="low-2")

        order = PurchaseOrder.objects.get()
        assert order.status == Status.PENDING_HUMAN_APPROVAL
        assert order.lines.get().product.sku == "D001"

    def test_over_budget_order_is_flagged_and_needs_a_manager(
        self, settings, tea_slot, tea_offers, staff_user, manager_user
    ):
        settings.PROCUREMENT_MONTHLY_BUDGET_YEN = 500
        history(tea_slot, 28)

        [order] = procurement_plan().orders

        assert order.over_budget
        assert "予算超過" in order.reasoning
        with pytest.raises(PermissionDenied, match="調達予算"):
            purchase_order_approve(order=order, actor=staff_user)
        assert purchase_order_approve(order=order, actor=manager_user).status == Status.ORDERED

    def test_requested_new_products_are_candidates_with_their_requesters(self, tea_slot):
        product_request_record(name="抹茶オレ", customer_key="line:U1")
        product_request_record(name="抹茶オレ", customer_key="line:U2")
        offer = SupplierOfferFactory(product=None, new_product_description="抹茶オレ 250ml 紙パック", unit_cost_yen=90)

        plan = procurement_plan()

        assert [(c["name"], c["requesters"], c["offers"]) for c in plan.candidates] == [("抹茶オレ", 2, [offer])]
        assert plan.orders == []


LEGAL = {
    "submit": {Status.DRAFT},
    "approve": {Status.PENDING_HUMAN_APPROVAL},
    "reject": {Status.PENDING_HUMAN_APPROVAL},
    "cancel": {Status.DRAFT, Status.PENDING_HUMAN_APPROVAL, Status.APPROVED, Status.ORDERED},
    "receive": {Status.ORDERED, Status.PARTIALLY_RECEIVED},
}


def run(operation: str, order, actor):
    if operation == "submit":
        return purchase_order_submit(order=order, actor=actor)
    if operation == "approve":
        return purchase_order_approve(order=order, actor=actor)
    if operation == "reject":
        return purchase_order_reject(order=order, actor=actor, reason="不要")
    if operation == "cancel":
        return purchase_order_cancel(order=order, actor=actor, reason="不要")
    return purchase_order_receive(order=order, delivered={order.lines.get().pk: 1}, actor=actor)


@pytest.mark.django_db
class TestTransitions:
    @pytest.mark.parametrize(
        ("operation", "state"),
        [(operation, state) for operation, legal in LEGAL.items() for state in Status.values if state not in legal],
    )
    def test_every_illegal_transition_is_refused(self, manager_user, operation, state):
        order = PurchaseOrderFactory(status=state)

        with pytest.raises(Conflict) as refused:
            run(operation, order, manager_user)

        assert refused.value.code == "illegal_transition"
        assert str(Status(state).label) in refused.value.message
        order.refresh_from_db()
        assert order.status == state
        assert audit_trail(order) == []

    @pytest.mark.parametrize(
        ("operation", "state", "after"),
        [
            ("submit", Status.DRAFT, Status.PENDING_HUMAN_APPROVAL),
            ("approve", Status.PENDING_HUMAN_APPROVAL, Status.ORDERED),
            ("reject", Status.PENDING_HUMAN_APPROVAL, Status.REJECTED),
            ("cancel", Status.APPROVED, Status.CANCELLED),
            ("receive", Status.ORDERED, Status.PARTIALLY_RECEIVED),
        ],
    )
    def test_legal_transitions_are_audited(self, manager_user, operation, state, after):
        order = PurchaseOrderFactory(status=state)

        run(operation, order, manager_user)

        order.refresh_from_db()
        assert order.status == after
        entry = AuditEntry.objects.filter(object_id=str(order.pk)).latest("id")
        assert (entry.actor, entry.to_state) == (manager_user, after)

    def test_approval_orders_from_the_supplier_by_email(self, staff_user, django_capture_on_commit_callbacks):
        order = PurchaseOrderFactory(supplier=SupplierFactory(contact_email="hatchu@maruyama.example.invalid"),
                                     line__product__name_ja="緑茶", line__quantity=24)  # fmt: skip

        with django_capture_on_commit_callbacks(execute=True):
            purchase_order_approve(order=order, actor=staff_user)

        order.refresh_from_db()
        assert (order.status, order.approved_by) == (Status.ORDERED, staff_user)
        assert audit_trail(order) == [
            (Status.PENDING_HUMAN_APPROVAL, Status.APPROVED, ""),
            (Status.APPROVED, Status.ORDERED, ""),
        ]
        [email] = mail.outbox
        assert email.to == ["hatchu@maruyama.example.invalid"]
        assert "発注書" in email.subject
        assert "緑茶" in email.body and "24個" in email.body

    def test_nothing_is_sent_when_the_approval_is_refused(self, staff_user, django_capture_on_commit_callbacks):
        order = PurchaseOrderFactory(created_by=staff_user)

        with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
            purchase_order_approve(order=order, actor=staff_user)

        assert mail.outbox == []

    @pytest.mark.parametrize("role", ["staff_user", "manager_user"])
    def test_the_creator_cannot_approve_their_own_order(self, request, role):
        creator = request.getfixturevalue(role)
        order = PurchaseOrderFactory(created_by=creator, created_by_label="")

        with pytest.raises(PermissionDenied, match="自分で作成した発注"):
            purchase_order_approve(order=order, actor=creator)

        order.refresh_from_db()
        assert order.status == Status.PENDING_HUMAN_APPROVAL

    def test_the_agent_cannot_approve(self):
        order = PurchaseOrderFactory()

        with pytest.raises(PermissionDenied):
            purchase_order_approve(order=order, actor=None)

    def test_a_user_without_the_permission_cannot_approve(self):
        order = PurchaseOrderFactory()

        with pytest.raises(PermissionDenied, match="権限"):
            purchase_order_approve(order=order, actor=UserFactory(is_staff=True))

    def test_above_the_threshold_a_manager_must_approve(self, staff_user, manager_user):
        order = PurchaseOrderFactory(line__quantity=600, line__unit_cost_yen=100)  # ¥60,000

        with pytest.raises(PermissionDenied, match="マネージャー"):
            purchase_order_approve(order=order, actor=staff_user)
        assert purchase_order_approve(order=order, actor=manager_user).status == Status.ORDERED

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_rejection_needs_a_reason(self, staff_user, reason):
        order = PurchaseOrderFactory()

        with pytest.raises(ValidationError, match="理由"):
            purchase_order_reject(order=order, actor=staff_user, reason=reason)

        order.refresh_from_db()
        assert order.status == Status.PENDING_HUMAN_APPROVAL

    def test_a_rejected_need_can_be_proposed_again(self, staff_user, tea_slot, tea_offers):
        history(tea_slot, 28)
        [order] = procurement_plan().orders

        purchase_order_reject(order=order, actor=staff_user, reason="来週まとめて発注する")

        assert audit_trail(order)[-1] == (Status.PENDING_HUMAN_APPROVAL, Status.REJECTED, "来週まとめて発注する")
        assert len(procurement_plan().orders) == 1


@pytest.mark.django_db
class TestReasoning:
    def test_a_pending_orders_reasoning_is_replaced_audited_and_its_state_kept(self):
        order = PurchaseOrderFactory(reasoning="緑茶: 16個不足。")

        purchase_order_reasoning_set(order=order, text="  売れ行きが伸びています。  ", actor_label="仕入れAI")

        order.refresh_from_db()
        assert (order.reasoning, order.status) == ("売れ行きが伸びています。", Status.PENDING_HUMAN_APPROVAL)
        entry = AuditEntry.objects.get(object_id=str(order.pk), action="purchase_order.reasoning_set")
        assert (entry.actor_label, entry.from_state, entry.to_state) == (
            "仕入れAI",
            Status.PENDING_HUMAN_APPROVAL,
            Status.PENDING_HUMAN_APPROVAL,
        )
        assert entry.data == {"previous_reasoning": "緑茶: 16個不足。"}

    @pytest.mark.parametrize("state", [s for s in Status.values if s != Status.PENDING_HUMAN_APPROVAL])
    def test_only_while_waiting_for_approval(self, state):
        order = PurchaseOrderFactory(status=state, reasoning="承認されたときの理由")

        with pytest.raises(Conflict):
            purchase_order_reasoning_set(order=order, text="後から書き換え", actor_label="仕入れAI")

        order.refresh_from_db()
        assert order.reasoning == "承認されたときの理由" and not AuditEntry.objects.exists()

    def test_an_empty_text_is_refused(self):
        order = PurchaseOrderFactory(reasoning="元の理由")
        with pytest.raises(ValidationError):
            purchase_order_reasoning_set(order=order, text=" ", actor_label="仕入れAI")
        order.refresh_from_db()
        assert order.reasoning == "元の理由"


@pytest.mark.django_db
class TestReceiving:
    @pytest.fixture
    def ordered(self, tea_slot):
        """12 teas ordered at ¥100 each; the tea costs ¥70 with 8 on hand (3 in the slot, 5 in the back room)."""
        return PurchaseOrderFactory(status=Status.ORDERED, line__product=tea_slot.product, line__quantity=12,
                                    line__unit_cost_yen=100)  # fmt: skip

    def test_partial_then_full_delivery_updates_stock_and_cost(self, staff_user, ordered):
        line = ordered.lines.get()
        tea = line.product

        purchase_order_receive(order=ordered, delivered={line.pk: 4}, actor=staff_user)

        ordered.refresh_from_db()
        assert ordered.status == Status.PARTIALLY_RECEIVED
        assert StorageStock.objects.get(product=tea).quantity == 9
        assert Product.objects.get(pk=tea.pk).unit_cost_yen == 80  # (8 × ¥70 + 4 × ¥100) / 12

        purchase_order_receive(order=ordered, delivered={line.pk: 8}, actor=staff_user)

        ordered.refresh_from_db()
        line.refresh_from_db()
        assert ordered.status == Status.RECEIVED and ordered.received_at is not None
        assert (line.received_quantity, line.is_open) == (12, False)
        assert StorageStock.objects.get(product=tea).quantity == 17
        assert Product.objects.get(pk=tea.pk).unit_cost_yen == 88  # (12 × ¥80 + 8 × ¥100) / 20
        assert tea.movements.filter(kind="receipt", actor=staff_user).count() == 2

    def test_a_delivery_is_a_lot_from_the_supplier_with_the_date_on_its_label(self, staff_user, ordered):
        line = ordered.lines.get()
        best_before = timezone.localdate() + datetime.timedelta(days=90)

        purchase_order_receive(
            order=ordered, delivered={line.pk: 4}, dates={line.pk: (best_before, "best_before")}, actor=staff_user
        )

        lot = StockLot.objects.filter(product=line.product).latest("id")
        assert (lot.quantity, lot.expires_on, lot.supplier, lot.unit_cost_yen) == (
            4,
            best_before,
            ordered.supplier,
            100,
        )

    def test_more_than_ordered_is_refused(self, staff_user, ordered):
        line = ordered.lines.get()

        with pytest.raises(ValidationError, match="0〜12個"):
            purchase_order_receive(order=ordered, delivered={line.pk: 13}, actor=staff_user)

        assert StorageStock.objects.get(product=line.product).quantity == 5

    def test_nothing_delivered_is_refused(self, staff_user, ordered):
        with pytest.raises(ValidationError, match="1個以上"):
            purchase_order_receive(order=ordered, delivered={ordered.lines.get().pk: 0}, actor=staff_user)


@pytest.mark.django_db
class TestJobsAndDemo:
    def test_the_daily_beat_job_exists_and_plans(self, tea_slot, tea_offers):
        job = PeriodicTask.objects.get(task="inventory.procurement_plan")
        assert job.enabled and (job.crontab.hour, job.crontab.minute) == ("6", "30")
        history(tea_slot, 28)

        planning_job.delay()

        assert PurchaseOrder.objects.filter(status=Status.PENDING_HUMAN_APPROVAL).count() == 1

    def test_seed_demo_adds_suppliers_and_offers_once(self):
        seed(stdout=StringIO(), options={})
        offers = SupplierOffer.objects.count()
        seed(stdout=StringIO(), options={})

        assert Supplier.objects.count() == 4
        assert SupplierOffer.objects.count() == offers > 10
        assert SupplierOffer.objects.filter(product__isnull=True).exists()


@pytest.mark.django_db
class TestSupplierPayment:
    def test_a_manager_pays_what_was_received_once(self, tea_slot, staff_user, manager_user):
        order = PurchaseOrderFactory(status=Status.ORDERED, line__product=tea_slot.product, line__quantity=12,
                                     line__unit_cost_yen=100)  # fmt: skip
        owed_before = accounts_payable_yen()  # the fixture's opening stock
        purchase_order_receive(order=order, delivered={order.lines.get().pk: 12}, actor=staff_user)
        order.refresh_from_db()
        assert order.payable_yen == 1296  # 12 × ¥100 + 8 % input tax
        assert accounts_payable_yen() == owed_before + 1296

        with pytest.raises(PermissionDenied):
            purchase_order_pay_supplier(order=order, actor=staff_user)
        purchase_order_pay_supplier(order=order, actor=manager_user)

        order.refresh_from_db()
        assert order.paid_yen == 1296
        assert accounts_payable_yen() == owed_before
        with pytest.raises(Conflict, match="未払い"):
            purchase_order_pay_supplier(order=order, actor=manager_user)

    def test_paying_the_order_on_the_payables_page_first_leaves_its_pay_action_nothing_to_pay(
        self, tea_slot, staff_user, manager_user
    ):
        order = received_order(tea_slot, staff_user)
        payment = payables_pay(entry_numbers=order_invoice_numbers(order), paid_from="bank", date=TODAY,
                               actor=manager_user)  # fmt: skip
        later_order = received_order(tea_slot, staff_user, quantity=24)
        still_owed = open_invoice_numbers()  # the opening stock and the later order: 買掛金 holds more than ¥1,296

        order.refresh_from_db()
        assert order.paid_yen == order.payable_yen == 1296
        with pytest.raises(Conflict) as refused:
            purchase_order_pay_supplier(order=order, actor=manager_user)
        assert refused.value.code == "paid_in_books"
        assert f"#{payment.number}" in refused.value.message
        assert open_invoice_numbers() == still_owed
        assert accounts_payable_yen() == 604 + later_order.payable_yen

    def test_paying_the_order_first_leaves_the_payables_page_nothing_of_it_to_pay(
        self, tea_slot, staff_user, manager_user
    ):
        order = received_order(tea_slot, staff_user)
        invoices = order_invoice_numbers(order)

        order = purchase_order_pay_supplier(order=order, actor=manager_user, paid_from="cash")

        assert order.paid_yen == 1296
        assert not invoices & open_invoice_numbers()
        payment = PayablePayment.objects.get(payable_entry__number__in=invoices).payment_entry
        assert payment.source == order and payment.kind == "payable_payment"
        with pytest.raises(Conflict) as refused:
            payables_pay(entry_numbers=invoices, paid_from="bank", date=TODAY, actor=manager_user)
        assert refused.value.code == "not_open_payable"
        assert accounts_payable_yen() == 604

    def test_partial_deliveries_are_paid_in_two_steps(self, tea_slot, staff_user, manager_user):
        order = PurchaseOrderFactory(status=Status.ORDERED, line__product=tea_slot.product, line__quantity=12,
                                     line__unit_cost_yen=100)  # fmt: skip
        line = order.lines.get()
        purchase_order_receive(order=order, delivered={line.pk: 5}, actor=staff_user)
        order = purchase_order_pay_supplier(order=order, actor=manager_user)
        assert (order.payable_yen, order.paid_yen) == (540, 540)  # 5 × ¥100 + 8 %

        purchase_order_receive(order=order, delivered={line.pk: 7}, actor=staff_user)
        order = purchase_order_pay_supplier(order=order, actor=manager_user)

        assert (order.payable_yen, order.paid_yen) == (1296, 1296)
        assert order.receipts.count() == 2
        paid = PayablePayment.objects.filter(payable_entry__number__in=order_invoice_numbers(order))
        assert sorted(paid.values_list("amount_yen", flat=True)) == [540, 756]
        assert len({link.payment_entry_id for link in paid}) == 2
        audited = AuditEntry.objects.filter(action="purchase_order.pay", object_id=str(order.pk)).order_by("pk")
        assert [entry.data["amount_yen"] for entry in audited] == [540, 756]
        assert accounts_payable_yen() == 604
        with pytest.raises(Conflict) as refused:
            purchase_order_pay_supplier(order=order, actor=manager_user)
        assert refused.value.code == "nothing_to_pay"

    def test_the_payables_page_pays_one_delivery_and_the_order_the_other(self, tea_slot, staff_user, manager_user):
        order = PurchaseOrderFactory(status=Status.ORDERED, line__product=tea_slot.product, line__quantity=12,
                                     line__unit_cost_yen=100)  # fmt: skip
        line = order.lines.get()
        purchase_order_receive(order=order, delivered={line.pk: 5}, actor=staff_user)
        payables_pay(entry_numbers=order_invoice_numbers(order), paid_from="bank", date=TODAY, actor=manager_user)
        purchase_order_receive(order=order, delivered={line.pk: 7}, actor=staff_user)

        order = purchase_order_pay_supplier(order=order, actor=manager_user)

        assert (order.payable_yen, order.paid_yen) == (1296, 1296)
        assert accounts_payable_yen() == 604


TODAY = timezone.localdate()


def received_order(slot, staff_user, quantity: int = 12) -> PurchaseOrder:
    order = PurchaseOrderFactory(status=Status.ORDERED, line__product=slot.product, line__quantity=quantity,
                                 line__unit_cost_yen=100)  # fmt: skip
    purchase_order_receive(order=order, delivered={order.lines.get().pk: quantity}, actor=staff_user)
    order.refresh_from_db()
    return order


def order_invoice_numbers(order: PurchaseOrder) -> set[int]:
    return set(purchase_order_invoices(order=order).values_list("number", flat=True))


def open_invoice_numbers() -> set[int]:
    return {item.entry.number for item in open_payables() if item.account_code == ACCOUNTS_PAYABLE}


def accounts_payable_yen() -> int:
    lines = JournalLine.objects.filter(account__code=ACCOUNTS_PAYABLE)
    totals = lines.aggregate(credit=Sum("credit"), debit=Sum("debit"))
    return (totals["credit"] or 0) - (totals["debit"] or 0)


@pytest.mark.django_db
class TestReceiptsBeforeTheyNamedTheirOrder:
    """Migration inventory 0017 links receipts written before it to their orders, and their orders' payments."""

    def test_an_old_receipt_and_the_payment_of_its_order_are_linked(self, tea_slot, staff_user, manager_user):
        order = received_order(tea_slot, staff_user)
        paid_before = received_order(tea_slot, staff_user, quantity=5)
        for old in (order, paid_before):  # as receipts and order payments were written before the migration
            StockMovement.objects.filter(purchase_order=old).update(purchase_order=None)
        post_supplier_payment(date=TODAY, amount=paid_before.payable_yen, paid_from="bank", source=paid_before)
        PurchaseOrder.objects.filter(pk=paid_before.pk).update(paid_yen=paid_before.payable_yen)
        receipt_of_stock = StockMovement.objects.create(product=tea_slot.product, location="storage", kind="receipt",
                                                        quantity_delta=1, reason=f"発注 PO-{order.pk:05d} の入荷 (手入力)")  # fmt: skip

        migration = importlib.import_module("apps.inventory.migrations.0019_receipt_purchase_order")
        migration.link_receipts_to_orders(django_apps, None)
        migration.link_order_payments(django_apps, None)

        assert order.receipts.count() == 0  # its receipts no longer add up to what the order received
        receipt_of_stock.refresh_from_db()
        assert receipt_of_stock.purchase_order is None
        assert paid_before.receipts.count() == 1
        assert not order_invoice_numbers(paid_before) & open_invoice_numbers()
        with pytest.raises(Conflict) as refused:
            purchase_order_pay_supplier(order=paid_before, actor=manager_user)
        assert refused.value.code == "nothing_to_pay"
