"""Procurement: the planning service proposes purchase orders, people approve, suppliers deliver.

Every change of an order's state goes through `_transition`, which refuses a move the table below does not allow and
writes an audit entry (who, when, from, to, reason). Planning never approves: approval needs a person with
`inventory.approve_purchaseorder` who did not create the order, and a Manager above the threshold or over budget.
"""

import datetime
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.postings import PaidFrom
from apps.accounting.services.payables import payables_pay
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.roles import is_manager
from apps.core.services import audit_record
from apps.inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLot,
    StockMovement,
    Supplier,
    SupplierOffer,
)
from apps.inventory.selectors import (
    ProductDemand,
    procurement_candidates,
    procurement_demand,
    procurement_month_committed_yen,
    purchase_order_open_payables,
    purchase_order_open_product_ids,
    purchase_order_paid_elsewhere,
    staff_notification_emails,
    supplier_offers_valid,
)
from apps.inventory.services.stock import acting_user, stock_receive

logger = logging.getLogger(__name__)

Status = PurchaseOrder.Status
PLANNER_LABEL = "procurement-agent"
SALES_WINDOW_DAYS = 14

TRANSITIONS = {
    Status.DRAFT: {Status.PENDING_HUMAN_APPROVAL, Status.CANCELLED},
    Status.PENDING_HUMAN_APPROVAL: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
    Status.APPROVED: {Status.ORDERED, Status.CANCELLED},
    Status.ORDERED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CANCELLED},
    Status.PARTIALLY_RECEIVED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
}


def manager_threshold_yen() -> int:
    return settings.PURCHASE_ORDER_MANAGER_THRESHOLD_YEN


def monthly_budget_yen() -> int:
    return settings.PROCUREMENT_MONTHLY_BUDGET_YEN


def _locked(order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update(of=("self",)).select_related("supplier").get(pk=order.pk)


def _require_transition(order: PurchaseOrder, to_state: str) -> None:
    if to_state not in TRANSITIONS.get(order.status, ()):
        raise Conflict(
            _("発注 {order} は「{current}」のため「{wanted}」にはできません。").format(
                order=order, current=order.get_status_display(), wanted=Status(to_state).label
            ),
            code="illegal_transition",
            details={"from": order.status, "to": to_state},
        )


def _transition(
    *,
    order: PurchaseOrder,
    to_state: str,
    actor=None,
    actor_label: str = "",
    reason: str = "",
    fields: tuple[str, ...] = (),
    data: dict | None = None,
) -> PurchaseOrder:
    """Move a locked order to `to_state` (saving `fields` with it) and audit the move; refuse an illegal one."""
    _require_transition(order, to_state)
    from_state = order.status
    order.status = to_state
    order.save(update_fields=["status", "updated_at", *fields])
    if to_state in PurchaseOrder.CLOSED_STATES:
        order.lines.update(is_open=False)
    audit_record(
        target=order,
        action=f"purchase_order.{to_state}",
        actor=actor,
        actor_label=actor_label,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    return order


def purchase_order_needs_manager(order: PurchaseOrder) -> str:
    """Why this order needs a Manager's approval ("" if any approver may approve it)."""
    if order.total_yen > manager_threshold_yen():
        return _("¥{total:,}の発注は¥{limit:,}を超えるため、マネージャーの承認が必要です。").format(
            total=order.total_yen, limit=manager_threshold_yen()
        )
    committed = procurement_month_committed_yen(now=timezone.now(), exclude_order_id=order.pk)
    if order.over_budget or committed + order.total_yen > monthly_budget_yen():
        return _("今月の調達予算（¥{budget:,}）を超えるため、マネージャーの承認が必要です。").format(
            budget=monthly_budget_yen()
        )
    return ""


def _require_approver(order: PurchaseOrder, actor) -> None:
    user = acting_user(actor)
    if user is None:
        raise PermissionDenied(_("発注の承認・却下は担当者が管理画面で行います。"))
    if not user.has_perm("inventory.approve_purchaseorder"):
        raise PermissionDenied(_("発注を承認・却下する権限がありません。"))
    if order.created_by_id == user.pk:
        raise PermissionDenied(_("自分で作成した発注は承認できません。別の担当者に依頼してください。"))


def _required_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(message, details={"field": "reason"})
    return reason


@transaction.atomic
def purchase_order_submit(*, order: PurchaseOrder, actor=None, actor_label: str = "") -> PurchaseOrder:
    """A draft goes to the approval desk; staff are told by e-mail once this commits."""
    order = _locked(order)
    if not order.lines.exists():
        raise ValidationError(_("明細のない発注は提出できません。"))
    _transition(order=order, to_state=Status.PENDING_HUMAN_APPROVAL, actor=actor, actor_label=actor_label)
    from apps.inventory.tasks import purchase_order_notify_staff  # the tasks module imports these services

    transaction.on_commit(partial(purchase_order_notify_staff.delay, order_id=order.pk), robust=True)
    return order


@transaction.atomic
def purchase_order_approve(*, order: PurchaseOrder, actor, reason: str = "") -> PurchaseOrder:
    """A person approves a pending order: it is sent to the supplier by e-mail (after commit) and becomes `ordered`.

    The row lock makes two approvers racing for one order get one approval and one refusal.
    """
    order = _locked(order)
    _require_transition(order, Status.APPROVED)  # before the person checks: the slower of two approvers gets 409
    _require_approver(order, actor)
    manager_reason = purchase_order_needs_manager(order)
    if manager_reason and not is_manager(actor):
        raise PermissionDenied(manager_reason)
    now = timezone.now()
    order.approved_by, order.approved_at = actor, now
    _transition(
        order=order,
        to_state=Status.APPROVED,
        actor=actor,
        reason=reason,
        fields=("approved_by", "approved_at"),
        data={"total_yen": order.total_yen, "manager_required": bool(manager_reason)},
    )
    order.ordered_at = now
    _transition(order=order, to_state=Status.ORDERED, actor=actor, fields=("ordered_at",),
                data={"sent_to": order.supplier.contact_email})  # fmt: skip
    from apps.inventory.tasks import purchase_order_email_supplier  # the tasks module imports these services

    transaction.on_commit(partial(purchase_order_email_supplier.delay, order_id=order.pk), robust=True)
    return order


@transaction.atomic
def purchase_order_reasoning_set(*, order: PurchaseOrder, text: str, actor_label: str) -> PurchaseOrder:
    """Replace the reasoning staff read beside a proposal (e.g. an agent's explanation of the planner's numbers).
    Only while it waits for approval, so what a person approved is what they read; never changes the state.
    The previous reasoning is kept in the audit entry."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("発注の理由が空です。"), details={"field": "text"})
    order = _locked(order)
    if order.status != Status.PENDING_HUMAN_APPROVAL:
        raise Conflict(
            _("発注 {order} は「{current}」のため理由を書き換えられません。").format(
                order=order, current=order.get_status_display()
            ),
            code="illegal_transition",
            details={"from": order.status},
        )
    previous = order.reasoning
    order.reasoning = text
    order.save(update_fields=["reasoning", "updated_at"])
    audit_record(
        target=order,
        action="purchase_order.reasoning_set",
        actor_label=actor_label,
        from_state=order.status,
        to_state=order.status,
        data={"previous_reasoning": previous},
    )
    return order


@transaction.atomic
def purchase_order_reject(*, order: PurchaseOrder, actor, reason: str) -> PurchaseOrder:
    reason = _required_reason(reason, _("却下には理由が必要です。"))
    order = _locked(order)
    _require_approver(order, actor)
    order.rejection_reason = reason
    return _transition(order=order, to_state=Status.REJECTED, actor=actor, reason=reason, fields=("rejection_reason",))


@transaction.atomic
def purchase_order_cancel(*, order: PurchaseOrder, actor, reason: str) -> PurchaseOrder:
    """Withdraw an order before any goods arrived (the supplier is told outside VendBot)."""
    reason = _required_reason(reason, _("取消には理由が必要です。"))
    user = acting_user(actor)
    if user is None or not user.has_perm("inventory.approve_purchaseorder"):
        raise PermissionDenied(_("発注を取り消す権限がありません。"))
    return _transition(order=_locked(order), to_state=Status.CANCELLED, actor=actor, reason=reason)


def _delivered_check(lines: dict[int, PurchaseOrderLine], delivered: dict[int, int]) -> None:
    """Every delivered line is the order's, between 0 and what is still outstanding, and something came."""
    unknown = set(delivered) - set(lines)
    if unknown:
        raise ValidationError(_("この発注にない明細です: {ids}").format(ids=sorted(unknown)))
    for line_id, quantity in delivered.items():
        line = lines[line_id]
        if quantity < 0 or quantity > line.outstanding_quantity:
            raise ValidationError(
                _("{product}の入荷数は0〜{left}個で入力してください。").format(
                    product=line.product.name_ja, left=line.outstanding_quantity
                ),
                details={"line": line_id, "outstanding": line.outstanding_quantity},
            )
    if not any(delivered.values()):
        raise ValidationError(_("入荷数を1個以上入力してください。"))


@transaction.atomic
def purchase_order_receive(
    *,
    order: PurchaseOrder,
    delivered: dict[int, int],
    dates: dict[int, tuple[datetime.date, str]] | None = None,
    actor=None,
    actor_label: str = "",
    note: str = "",
) -> PurchaseOrder:
    """Record what the supplier delivered, `{line id: units}` (partial deliveries allowed): each received line goes
    into the back room through `stock_receive` (moving-average cost, books) at the order's unit cost, as one lot
    from this supplier dated by `dates` (`{line id: (date, "best_before" | "use_by")}`; a line without is undated)."""
    user = acting_user(actor)
    if user is not None and not user.has_perm("inventory.receive_purchaseorder"):
        raise PermissionDenied(_("入荷を記録する権限がありません。"))
    order = _locked(order)
    _require_transition(order, Status.RECEIVED)
    lines = {line.pk: line for line in order.lines.select_related("product").select_for_update()}
    _delivered_check(lines, delivered)
    for line_id, quantity in delivered.items():
        if not quantity:
            continue
        line = lines[line_id]
        # The supplier's invoice for these goods: what the books owe them (買掛金) and what this order will pay.
        net_yen = quantity * line.unit_cost_yen
        input_tax_yen = net_yen * line.product.tax_rate // 100
        expires_on, date_kind = (dates or {}).get(line_id, (None, StockLot.DateKind.BEST_BEFORE))
        stock_receive(
            product=line.product,
            quantity=quantity,
            unit_cost_yen=line.unit_cost_yen,
            input_tax_yen=input_tax_yen,
            actor=actor,
            actor_label=actor_label,
            reason=_("発注 {order} の入荷").format(order=order),
            expires_on=expires_on,
            date_kind=date_kind,
            supplier=order.supplier,
            purchase_order=order,
        )
        order.payable_yen += net_yen + input_tax_yen
        line.received_quantity += quantity
        line.save(update_fields=["received_quantity"])
    complete = all(line.outstanding_quantity == 0 for line in lines.values())
    if complete:
        order.received_at = timezone.now()
    return _transition(
        order=order,
        to_state=Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED,
        actor=actor,
        actor_label=actor_label,
        reason=note,
        fields=("payable_yen", "received_at") if complete else ("payable_yen",),
        data={"delivered": {str(line_id): quantity for line_id, quantity in delivered.items() if quantity}},
    )


@transaction.atomic
def purchase_order_pay_supplier(
    *, order: PurchaseOrder, actor, paid_from: str = PaidFrom.BANK, date: datetime.date | None = None
) -> PurchaseOrder:
    """A Manager pays the supplier what is still open of the order's own invoices (the 買掛金 its receipts booked),
    through the books' `payables_pay`, which links each invoice to the payment: an invoice is paid once, here or on
    the payables page, also when two Managers pay at the same moment (the link is unique). The order's `paid_yen`
    follows through `purchase_orders_paid_record`. The order row is not locked first: the other path locks it after
    its links, and the opposite order would deadlock."""
    if not is_manager(actor):
        raise PermissionDenied(_("仕入先への支払いはマネージャーが行います。"))
    invoices = purchase_order_open_payables(order=order)
    if not invoices:
        raise _nothing_to_pay(order)
    payment = payables_pay(
        entry_numbers=[item.entry.number for item in invoices],
        paid_from=paid_from,
        date=date or timezone.localdate(),
        actor=actor,
        memo=_("{order} の支払").format(order=order),
        source=order,
    )
    order.refresh_from_db()
    audit_record(
        target=order,
        action="purchase_order.pay",
        actor=actor,
        from_state=order.status,
        to_state=order.status,
        data={
            "amount_yen": sum(line.debit for line in payment.lines.all()),
            "paid_from": paid_from,
            "payment_entry": payment.number,
        },
    )
    return order


def _nothing_to_pay(order: PurchaseOrder) -> Conflict:
    elsewhere = purchase_order_paid_elsewhere(order=order)
    if elsewhere:
        return Conflict(
            _("発注 {order} の入荷分は、買掛金・未払金の支払（仕訳 {numbers}）で支払済みです。").format(
                order=order, numbers=", ".join(f"#{number}" for number in elsewhere)
            ),
            code="paid_in_books",
            details={"payment_entry_numbers": elsewhere},
        )
    return Conflict(_("発注 {order} に未払いの入荷分はありません。").format(order=order), code="nothing_to_pay")


@transaction.atomic
def purchase_orders_paid_record(*, payments) -> None:
    """The books paid supplier invoices (`PayablePayment` rows, from either path): each order whose receipts booked
    them adds what was paid to its `paid_yen`, in the paying transaction (the DB check keeps it ≤ `payable_yen`)."""
    paid_by_receipt: dict[int, int] = defaultdict(int)
    receipt_type = ContentType.objects.get_for_model(StockMovement)
    for payment in payments:
        if payment.payable_entry.source_type_id == receipt_type.pk:
            paid_by_receipt[int(payment.payable_entry.source_id)] += payment.amount_yen
    paid_by_order: dict[int, int] = defaultdict(int)
    receipts = StockMovement.objects.filter(pk__in=paid_by_receipt, purchase_order__isnull=False)
    for receipt_id, order_id in receipts.values_list("pk", "purchase_order_id"):
        paid_by_order[order_id] += paid_by_receipt[receipt_id]
    for order_id in sorted(paid_by_order):  # one lock order for every payer
        PurchaseOrder.objects.filter(pk=order_id).update(
            paid_yen=F("paid_yen") + paid_by_order[order_id], updated_at=timezone.now()
        )


# --- Planning (the procurement agent's core) ---


@dataclass(frozen=True)
class OfferOption:
    offer: SupplierOffer
    quantity: int  # units to order: the shortfall rounded up to whole packs
    shortfall: int
    reliable: bool

    @property
    def cost_yen(self) -> int:
        return self.quantity * self.offer.unit_cost_yen

    @property
    def landed_unit_cost(self) -> float:
        """What each needed unit costs once the packs are in the back room (pack rounding included)."""
        return self.cost_yen / self.shortfall

    def as_row(self, *, chosen: bool) -> dict:
        supplier = self.offer.supplier
        return {
            "offer_id": self.offer.pk,
            "supplier": supplier.name,
            "unit_cost_yen": self.offer.unit_cost_yen,
            "pack_size": self.offer.pack_size,
            "lead_time_days": supplier.lead_time_days,
            "reliability_score": supplier.reliability_score,
            "reliable": self.reliable,
            "quantity": self.quantity,
            "cost_yen": self.cost_yen,
            "landed_unit_cost_yen": round(self.landed_unit_cost, 1),
            "chosen": chosen,
        }


@dataclass(frozen=True)
class Proposal:
    demand: ProductDemand
    chosen: OfferOption
    options: list[OfferOption]
    daily: float
    cover_days: int

    def reasoning(self) -> str:
        choice = self.chosen
        supplier = choice.offer.supplier
        why = (
            _("信頼できる見積のうち1個あたりの実質原価が最も低い")
            if choice.reliable
            else _("信頼度の基準を満たす仕入先がないため、最も安い")
        )
        return (
            _(
                "{name}: 過去{window}日で{sold}個販売（1日{daily:.1f}個）。在庫はスロット{slots}個＋倉庫{storage}個。"
                "納期{lead}日＋{cover}日分に{shortfall}個不足 → {pack}個単位で{quantity}個を{supplier}に"
                "（¥{unit:,}/個、信頼度{score}、{why}見積）。"
            ).format(
                name=self.demand.product.name_ja,
                window=SALES_WINDOW_DAYS,
                sold=self.demand.sold,
                daily=self.daily,
                slots=self.demand.in_slots,
                storage=self.demand.in_storage,
                lead=supplier.lead_time_days,
                cover=self.cover_days,
                shortfall=choice.shortfall,
                pack=choice.offer.pack_size,
                quantity=choice.quantity,
                supplier=supplier.name,
                unit=choice.offer.unit_cost_yen,
                score=supplier.reliability_score,
                why=why,
            )
            + self._fresh_note()
        )

    def _fresh_note(self) -> str:
        notes = []
        if self.demand.shelf_life_days is not None:
            notes.append(_("期限は納品から{days}日。").format(days=self.demand.shelf_life_days))
        if self.demand.wasted:
            notes.append(
                _("過去{window}日の廃棄{wasted}個（{share:.0%}）の分だけ少なく発注。").format(
                    window=SALES_WINDOW_DAYS, wasted=self.demand.wasted, share=self.demand.waste_share
                )
            )
        return "".join(notes)

    def comparison(self) -> dict:
        return {
            "sku": self.demand.product.sku,
            "product": self.demand.product.name_ja,
            "sold": self.demand.sold,
            "on_hand": self.demand.on_hand,
            "offers": [option.as_row(chosen=option is self.chosen) for option in self.options],
        }


@dataclass(frozen=True)
class ProcurementPlan:
    orders: list[PurchaseOrder]
    candidates: list[dict]  # requested products the shop does not sell yet (see `procurement_candidates`)


def _shortfall(demand: ProductDemand, daily: float, days: int) -> int:
    """Units to order: what sells over `days` less what is on hand, less the share recently thrown away (a shop that
    wastes a fifth of a product is ordering a fifth too much of it)."""
    return max(0, math.ceil(daily * days * (1 - demand.waste_share)) - demand.on_hand)


def fresh_cover_days(demand: ProductDemand, cover_days: int) -> int:
    """The target cover, but never longer than a dated product keeps after delivery."""
    if demand.shelf_life_days is None:
        return cover_days
    return max(1, min(cover_days, demand.shelf_life_days))


def _preference(option: OfferOption) -> tuple:
    supplier = option.offer.supplier
    return (not option.reliable, option.landed_unit_cost, supplier.lead_time_days, -supplier.reliability_score)


def _proposal(demand: ProductDemand, offers: list[SupplierOffer], cover_days: int) -> Proposal | None:
    """The best offer for what the product lacks, or None when its stock covers the target with every offer."""
    daily = demand.sold / SALES_WINDOW_DAYS
    cover_days = fresh_cover_days(demand, cover_days)
    min_reliability = settings.PROCUREMENT_MIN_RELIABILITY
    options = []
    for offer in offers:
        shortfall = _shortfall(demand, daily, offer.supplier.lead_time_days + cover_days)
        if shortfall:
            packs = math.ceil(shortfall / offer.pack_size)
            reliable = offer.supplier.reliability_score >= min_reliability
            options.append(OfferOption(offer, packs * offer.pack_size, shortfall, reliable))
    if not options or len(options) < len(offers):
        # A supplier that would deliver in time leaves no shortfall: nothing to order yet.
        return None
    options.sort(key=_preference)
    return Proposal(demand=demand, chosen=options[0], options=options, daily=daily, cover_days=cover_days)


@transaction.atomic
def procurement_plan(*, product_ids=None, actor_label: str = PLANNER_LABEL) -> ProcurementPlan:
    """Propose what to buy: for each product (default: every active product in a slot) not already on an open
    order, sales of the last 14 days against slot and back-room stock over the supplier's lead time plus the target
    cover (PROCUREMENT_TARGET_COVER_DAYS), the best valid offer (reliable first, then landed cost, lead time,
    reliability), one order per supplier in `pending_human_approval` with its reasoning and offer comparison.

    Never approves. An order that would take this month past PROCUREMENT_MONTHLY_BUDGET_YEN is flagged `over_budget`
    (a Manager must approve it).
    """
    now = timezone.now()
    cover_days = settings.PROCUREMENT_TARGET_COVER_DAYS
    on_order = purchase_order_open_product_ids()
    demands = [
        demand
        for demand in procurement_demand(
            since=now - datetime.timedelta(days=SALES_WINDOW_DAYS), product_ids=product_ids
        )
        if demand.product.pk not in on_order and demand.sold > 0
    ]
    offers = supplier_offers_valid(product_ids=[d.product.pk for d in demands], today=timezone.localdate(now))
    by_supplier: dict[Supplier, list[Proposal]] = {}
    for demand in demands:
        proposal = _proposal(demand, offers.get(demand.product.pk, []), cover_days)
        if proposal is not None:
            by_supplier.setdefault(proposal.chosen.offer.supplier, []).append(proposal)
    orders = []
    for supplier, proposals in sorted(by_supplier.items(), key=lambda item: item[0].name):
        order = _proposed_order(supplier=supplier, proposals=proposals, actor_label=actor_label, now=now)
        if order is not None:
            orders.append(order)
    return ProcurementPlan(orders=orders, candidates=procurement_candidates())


def _proposed_order(*, supplier: Supplier, proposals: list[Proposal], actor_label: str, now) -> PurchaseOrder | None:
    total = sum(proposal.chosen.cost_yen for proposal in proposals)
    committed = procurement_month_committed_yen(now=now)
    over_budget = committed + total > monthly_budget_yen()
    notes = [proposal.reasoning() for proposal in proposals]
    if total < supplier.minimum_order_yen:
        notes.append(
            _("注意: 合計¥{total:,}は{supplier}の最低発注額¥{minimum:,}に届きません。").format(
                total=total, supplier=supplier.name, minimum=supplier.minimum_order_yen
            )
        )
    if over_budget:
        notes.append(
            _(
                "予算超過: 今月の発注済み・承認待ち¥{committed:,}＋この発注¥{total:,}が予算¥{budget:,}を超えます。"
            ).format(committed=committed, total=total, budget=monthly_budget_yen())
        )
    try:
        # A savepoint: a concurrent run that already holds one of these products leaves this order out, not the plan.
        with transaction.atomic():
            order = PurchaseOrder.objects.create(
                supplier=supplier,
                created_by_label=actor_label,
                total_yen=total,
                over_budget=over_budget,
                reasoning="\n".join(notes),
                offer_comparison=[proposal.comparison() for proposal in proposals],
            )
            PurchaseOrderLine.objects.bulk_create(
                PurchaseOrderLine(
                    order=order,
                    product=proposal.demand.product,
                    offer=proposal.chosen.offer,
                    quantity=proposal.chosen.quantity,
                    unit_cost_yen=proposal.chosen.offer.unit_cost_yen,
                )
                for proposal in proposals
            )
    except IntegrityError:
        logger.info("Procurement: %s is already on an open order", [p.demand.product.sku for p in proposals])
        return None
    audit_record(target=order, action="purchase_order.create", actor_label=actor_label, to_state=order.status)
    return purchase_order_submit(order=order, actor_label=actor_label)


# --- Messages that leave the process (queued after commit by the services above) ---


def purchase_order_email_supplier(*, order_id: int) -> None:
    """The order as the supplier reads it, sent through Django's e-mail backend."""
    order = PurchaseOrder.objects.select_related("supplier").get(pk=order_id)
    lines = order.lines.select_related("product")
    body = [
        _("{supplier} 御中").format(supplier=order.supplier.name),
        "",
        _("いつもお世話になっております。VendBotより下記のとおり発注いたします。"),
        "",
        *(
            _("・{name}（{sku}） {quantity}個 × ¥{unit:,} = ¥{total:,}").format(
                name=line.product.name_ja,
                sku=line.product.sku,
                quantity=line.quantity,
                unit=line.unit_cost_yen,
                total=line.total_yen,
            )
            for line in lines
        ),
        "",
        _("合計（税抜）: ¥{total:,}").format(total=order.total_yen),
        _("納品先: 東京本社 1階 倉庫"),
        "",
        _("ご確認のほど、よろしくお願いいたします。"),
    ]
    send_mail(
        subject=_("【発注書】{order}").format(order=order),
        message="\n".join(body),
        from_email=None,
        recipient_list=[order.supplier.contact_email],
    )


def purchase_order_notify_staff(*, order_id: int) -> None:
    """Tell Staff and Managers that an order waits for their approval."""
    order = PurchaseOrder.objects.select_related("supplier").get(pk=order_id)
    recipients = staff_notification_emails()
    if not recipients:
        logger.warning("Purchase order %s waits for approval, but no staff member has an e-mail address", order_id)
        return
    needs_manager = purchase_order_needs_manager(order)
    send_mail(
        subject=_("[VendBot] 承認待ちの発注があります: {order}（¥{total:,}）").format(
            order=order, total=order.total_yen
        ),
        message="\n".join(
            part
            for part in (
                order.reasoning,
                needs_manager,
                _("管理画面の「発注」で内容を確認し、承認または却下してください。"),
            )
            if part
        ),
        from_email=None,
        recipient_list=recipients,
    )


# --- Suppliers and offers (admin forms) ---

SUPPLIER_FIELDS = (
    "name",
    "contact_email",
    "lead_time_days",
    "minimum_order_yen",
    "reliability_score",
    "active",
    "note",
)
OFFER_FIELDS = ("supplier", "product", "new_product_description", "unit_cost_yen", "pack_size", "valid_until", "source")


def _save_validated(instance, fields: dict):
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), details=getattr(exc, "message_dict", {})) from exc
    instance.save()
    return instance


@transaction.atomic
def supplier_save(*, supplier: Supplier | None = None, **fields) -> Supplier:
    unknown = set(fields) - set(SUPPLIER_FIELDS)
    if unknown:
        raise ValidationError(_("不明な項目です: {names}").format(names=sorted(unknown)))
    return _save_validated(supplier or Supplier(), fields)


@transaction.atomic
def supplier_offer_save(*, offer: SupplierOffer | None = None, **fields) -> SupplierOffer:
    unknown = set(fields) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationError(_("不明な項目です: {names}").format(names=sorted(unknown)))
    product: Product | None = fields.get("product", offer.product if offer else None)
    description = (fields.get("new_product_description", offer.new_product_description if offer else "") or "").strip()
    if (product is None) == (not description):
        raise ValidationError(_("商品を選ぶか、未登録の商品の説明を入力してください（どちらか一方）。"))
    return _save_validated(offer or SupplierOffer(), {**fields, "new_product_description": description})
