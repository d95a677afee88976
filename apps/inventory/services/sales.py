"""Selling: purchase (lock, check, discount, charge, record, dispense) and refunds."""

import hashlib
import json
import logging
import os
from collections import defaultdict
from collections.abc import Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import (
    AuthenticationRequired,
    Conflict,
    PaymentDeclined,
    ServiceUnavailable,
    ValidationError,
)
from apps.core.money import TaxRate, split_tax_inclusive
from apps.core.services import audit_record
from apps.core.sql import (
    AsyncBatchedTransaction,
    BatchedTransaction,
    Statement,
    async_batch,
    async_batched_transaction,
    async_batches_available,
    batch,
    batched_transaction,
    columns,
    from_row,
    insert,
    next_id_sql,
    saved,
)
from apps.inventory.integrations.dispenser import dispenser
from apps.inventory.integrations.payments import PROVIDER_METHODS, ChargeResult, payment_gateway
from apps.inventory.models import (
    Coupon,
    CouponRedemption,
    Machine,
    Payment,
    Product,
    PurchaseRequest,
    Sale,
    SaleLine,
    Slot,
    StockLot,
    StockMovement,
)
from apps.inventory.selectors import sale_receipt, sale_undispensed_yen
from apps.inventory.services.attempts import (
    attempt_release,
    not_completed_message,
    payment_refunds_send,
    payment_resolve,
    require_no_transaction,
)
from apps.inventory.services.books import sale_refund_book
from apps.inventory.services.lots import lot_quantity_statement, lots_allocate, lots_order
from apps.inventory.services.refunds import payment_refund_owe, refundable_sale_lock, returned_to_storage
from apps.inventory.services.stock import acting_user, locked_product, locked_slot, movement_record

logger = logging.getLogger(__name__)
MAX_QUANTITY_PER_LINE = 20
# More slots than any machine has; a body naming thousands would make one statement with a parameter per slot.
MAX_SLOTS_PER_PURCHASE = 50
# The values a purchase is checked against, listed once: `.values` builds the list of every choice, with its label,
# at each call. Compared by value, so an equal member of another choices class (a conversation's channel) passes.
PAYMENT_METHODS = tuple(Payment.Method.values)
SALE_CHANNELS = tuple(Sale.Channel.values)


@dataclass(frozen=True)
class PurchaseOutcome:
    sale: Sale
    receipt: dict
    replayed: bool  # True when this is the stored answer to an earlier request with the same key


def _normalized_items(items: Iterable[Mapping]) -> dict[str, int]:
    """{"A1": 2, ...} from [{"slot": "A1", "quantity": 1}, ...]; the same slot twice is summed."""
    wanted: dict[str, int] = {}
    for item in items or []:
        code = str(item.get("slot") or "").strip().upper()
        quantity = item.get("quantity", 1)
        if not code:
            raise ValidationError(_("スロットを指定してください。"), details={"field": "items"})
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ValidationError(_("数量は1以上の整数にしてください。"), details={"field": "items", "slot": code})
        wanted[code] = wanted.get(code, 0) + quantity
    if not wanted:
        raise ValidationError(_("商品を1つ以上選んでください。"), details={"field": "items"})
    if len(wanted) > MAX_SLOTS_PER_PURCHASE:
        raise ValidationError(
            _("1回に購入できるのは{limit}スロットまでです。").format(limit=MAX_SLOTS_PER_PURCHASE),
            details={"field": "items"},
        )
    for code, quantity in wanted.items():
        if quantity > MAX_QUANTITY_PER_LINE:
            raise ValidationError(
                _("1回に購入できるのは1商品{limit}個までです。").format(limit=MAX_QUANTITY_PER_LINE),
                details={"field": "items", "slot": code},
            )
    return wanted


def _coupon_for(code: str, *, customer_key: str) -> Coupon:
    """The coupon, locked so concurrent purchases cannot both take its last use; refused with the reason otherwise."""
    coupon = Coupon.objects.select_for_update().filter(code__iexact=code.strip()).first()
    if coupon is None or not coupon.active:
        raise ValidationError(_("クーポン「{code}」は使えません。").format(code=code), details={"field": "coupon"})
    if coupon.valid_until and coupon.valid_until < timezone.now():
        raise ValidationError(
            _("クーポン「{code}」は有効期限が切れています。").format(code=coupon.code),
            details={"field": "coupon", "reason": "expired"},
        )
    if coupon.max_uses is not None and coupon.redemptions.count() >= coupon.max_uses:
        raise ValidationError(
            _("クーポン「{code}」は利用上限に達しました。").format(code=coupon.code),
            details={"field": "coupon", "reason": "used_up"},
        )
    if coupon.max_uses_per_customer is not None:
        if not customer_key:
            raise ValidationError(
                _("クーポン「{code}」はLINEなどでお客様が分かる購入でのみ使えます。").format(code=coupon.code),
                details={"field": "coupon", "reason": "customer_required"},
            )
        if coupon.redemptions.filter(customer_key=customer_key).count() >= coupon.max_uses_per_customer:
            raise ValidationError(
                _("クーポン「{code}」はすでにご利用済みです。").format(code=coupon.code),
                details={"field": "coupon", "reason": "used_by_customer"},
            )
    return coupon


def _coupon_discount(coupon: Coupon | None, subtotal_yen: int) -> int:
    if coupon is None:
        return 0
    if coupon.kind == Coupon.Kind.PERCENT:
        return subtotal_yen * coupon.value // 100
    return min(coupon.value, subtotal_yen)


def _allocate(discount_yen: int, gross: list[int]) -> list[int]:
    """Split a discount over lines in proportion to their amounts, whole yen, never more than a line's amount."""
    subtotal = sum(gross)
    shares = [discount_yen * amount // subtotal for amount in gross] if subtotal else [0] * len(gross)
    leftover = discount_yen - sum(shares)
    for index in sorted(range(len(gross)), key=lambda i: gross[i] - shares[i], reverse=True):
        if leftover == 0:
            break
        step = min(leftover, gross[index] - shares[index])
        shares[index] += step
        leftover -= step
    return shares


def _request_hash(**request) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _purchase_request(*, machine: Machine, idempotency_key: str, request_hash: str) -> PurchaseRequest | None:
    """The earlier request with this key (its attempt loaded), None if there is none; Conflict if its body differs."""
    record = (
        PurchaseRequest.objects.select_related("sale__machine", "sale__payment")
        .filter(machine=machine, idempotency_key=idempotency_key)
        .first()
    )
    if record is not None and record.request_hash != request_hash:
        raise Conflict(
            _("この Idempotency-Key は別の内容の購入にすでに使われています。新しいキーで送ってください。"),
            code="idempotency_key_reused",
        )
    return record


def _declined(reason: str) -> PaymentDeclined:
    return PaymentDeclined(
        _("お支払いが承認されませんでした（{reason}）。別の支払い方法をお試しください。").format(reason=reason),
        details={"reason": reason},
    )


def _replay(record: PurchaseRequest) -> PurchaseOutcome:
    """The answer already given to this key: the receipt, or the same refusal."""
    sale = record.sale
    if sale.status == Sale.Status.FAILED:
        if sale.payment.status == Payment.Status.DECLINED:
            raise _declined(sale.payment.decline_reason)
        raise Conflict(not_completed_message(), code="purchase_failed")
    return PurchaseOutcome(sale=sale, receipt=record.response_body or sale_receipt(sale), replayed=True)


def purchase_create(
    *,
    machine: Machine,
    items: Iterable[Mapping],
    coupon_code: str | None,
    payment_method: str,
    idempotency_key: str,
    channel: str,
    customer_key: str = "",
    actor=None,
) -> PurchaseOutcome:
    """Sell what is in `items` ([{"slot": "A1", "quantity": 1}, ...]) at `machine` and tell the machine to drop it.

    Three steps, so that no crash can keep a customer's money without a sale (STYLE.md, Failure):
    1. One transaction records the attempt: it locks the slots (in id order, so concurrent buyers never deadlock),
       checks stock, applies the coupon, and writes a pending sale with its lines, the stock movements that reserve
       the items, the coupon use, a pending payment and the Idempotency-Key; then it commits.
    2. The gateway charges, outside any transaction, with the payment's own idempotency key.
    3. A second transaction completes the sale (payment captured), or on a decline gives the stock back (the
       attempt becomes a failed sale no report counts). Its journal entry is the bookkeeper's, seconds later.
    After that the dispenser drops the items; a jam refunds what did not come out and puts it back into the slot's
    count (`Sale.note` says why). If the process dies between 1 and 3, a retry with the same key continues the
    attempt (the gateway answers its key with the first result, so nothing is charged twice), and otherwise the
    reconciler (`attempts.purchase_attempts_reconcile`) refunds the charge and releases the stock after a lease.

    `idempotency_key` is unique per machine: the same key with the same request returns the first receipt (or the
    same decline) and charges nothing; with a different request it raises Conflict. Raises Conflict(code="sold_out"),
    PaymentDeclined, ServiceUnavailable (the terminal did not answer: retry with the same key), ValidationError (bad
    slot, quantity, coupon, method). `customer_key` is opaque ("line:<id>", a chats id, "").
    """
    _require_terminal_method(payment_method)
    purchase = _purchase_checked(
        machine=machine,
        items=items,
        coupon_code=coupon_code,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        channel=channel,
        customer_key=customer_key,
        actor=actor,
    )
    attempt = _purchase_attempt(purchase)
    if isinstance(attempt, PurchaseOutcome):
        return attempt
    return _purchase_charge_and_complete(sale=attempt[0], lines=attempt[1])


async def purchase_create_async(
    *,
    machine: Machine,
    items: Iterable[Mapping],
    coupon_code: str | None,
    payment_method: str,
    idempotency_key: str,
    channel: str,
    customer_key: str = "",
    actor=None,
) -> PurchaseOutcome:
    """`purchase_create` for a caller on an event loop (a machine's purchase API, `apps/inventory/consumers.py`): the
    same steps, answers and errors. The database's part goes through `apps.core.sql`'s async batches on PostgreSQL;
    the purchase crosses to a thread twice, for the gateway's charge and for the dispenser (either may wait on a
    device or a provider), each time with the signals of the step before. What a usual purchase never needs runs in
    `purchase_create`'s own code on a thread: a coupon (locked through the ORM), a key used before, a slot missing
    from the machine, a decline, a completion that another request or the reconciler got to first, a jam."""
    request = {
        "machine": machine,
        "items": items,
        "coupon_code": coupon_code,
        "payment_method": payment_method,
        "idempotency_key": idempotency_key,
        "channel": channel,
        "customer_key": customer_key,
        "actor": actor,
    }
    _require_terminal_method(payment_method)
    purchase = _purchase_checked(**request)
    if purchase.coupon_code or not async_batches_available():
        return await _on_thread(purchase_create)(**request)
    try:
        async with async_batched_transaction() as tx:
            sale, lines, slots = await _purchase_record_async(tx, purchase)
    except (IntegrityError, _NeedsOrm):
        # Nothing was written (rolled back): the key was used before, or is being used by a request that will commit
        # first (our insert waited for it), or a slot is not on the machine or holds no product.
        return await _on_thread(purchase_create)(**request)
    charge = await _on_thread(_purchase_announce_and_charge)(sale=sale, slots=slots)
    if charge is not None and not charge.captured:
        return await _on_thread(_purchase_unfinished)(sale=sale, charge=charge)
    completed, _captured = await async_batch(_completion_statements(sale=sale, charge=charge))
    if not completed:
        return await _on_thread(_purchase_unfinished)(sale=sale, charge=charge)
    _completion_apply(sale=sale, charge=charge)
    dropped = await _on_thread(_purchase_announce_and_dispense)(sale=sale, lines=lines)
    if _jammed(lines, dropped):
        return await _on_thread(_purchase_settle_and_refund)(sale=sale, lines=lines, dropped=dropped)
    receipt = _receipt_dispensed(sale=sale, lines=lines)
    await async_batch(_settled_statements(sale=sale, receipt=receipt))
    return PurchaseOutcome(sale=sale, receipt=receipt, replayed=False)


def _purchase_threads() -> ThreadPoolExecutor:
    """Threads for what a purchase on the event loop hands over: the gateway's charge and the dispenser (each may wait
    on a device or a provider, seconds when one is slow), and the rare steps through the ORM."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="purchase")


_PURCHASE_THREADS = _purchase_threads()


def _purchase_threads_after_fork() -> None:
    # A forked child has none of the parent's threads, and the executor would count them as idle.
    global _PURCHASE_THREADS
    _PURCHASE_THREADS = _purchase_threads()


os.register_at_fork(after_in_child=_purchase_threads_after_fork)


def _on_thread(function):
    """`function` as a coroutine, on one of the purchase threads, in the caller's context (its language, its request
    id). The Django connection it used goes back to the pool (or is closed) when it returns, as at the end of a
    request: in the context it ran in, where Django keeps it."""

    def and_close(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(and_close, thread_sensitive=False, executor=_PURCHASE_THREADS)


class _NeedsOrm(Exception):
    """The purchase needs the ORM, which a coroutine cannot use: `purchase_create` takes it (nothing was written)."""


def _purchase_announce_and_charge(*, sale: Sale, slots: list[Slot]) -> ChargeResult | None:
    _purchase_recorded(sale=sale, slots=slots)
    return _purchase_charge(sale=sale)


def _purchase_announce_and_dispense(*, sale: Sale, lines: list[SaleLine]) -> dict[int, int]:
    _completion_announce(sale=sale)
    return _purchase_dispense(sale=sale, lines=lines)


def _require_terminal_method(payment_method: str) -> None:
    """The terminal takes card/IC/cash methods, and only where the shop offers it; PayPay and Stripe are paid on the
    customer's phone through a checkout (`services/checkout.py`)."""
    if payment_method in PROVIDER_METHODS or "terminal" not in settings.PAYMENT_PROVIDERS:
        raise ValidationError(
            _("この支払い方法はこの画面では使えません。スマホ決済（QRコード）をご利用ください。"),
            details={"field": "payment_method"},
        )


@dataclass(frozen=True)
class _CheckedPurchase:
    """A purchase request once checked: what to sell, how it is paid, and the hash its Idempotency-Key answers."""

    machine: Machine
    wanted: dict[str, int]
    coupon_code: str
    payment_method: str
    idempotency_key: str
    request_hash: str
    channel: str
    customer_key: str
    actor: object


def _purchase_checked(
    *, machine, items, coupon_code, payment_method, idempotency_key, channel, customer_key, actor
) -> _CheckedPurchase:
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationError(
            _("Idempotency-Key ヘッダー（100文字以内）が必要です。"), details={"field": "Idempotency-Key"}
        )
    if payment_method not in PAYMENT_METHODS:
        raise ValidationError(_("この支払い方法は使えません。"), details={"field": "payment_method"})
    if channel not in SALE_CHANNELS:
        raise ValidationError(_("販売チャネルが正しくありません。"), details={"field": "channel"})
    wanted = _normalized_items(items)
    coupon_code = (coupon_code or "").strip()
    request_hash = _request_hash(
        items=wanted, coupon=coupon_code.upper(), method=payment_method, channel=channel, customer=customer_key
    )
    return _CheckedPurchase(
        machine=machine,
        wanted=wanted,
        coupon_code=coupon_code,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        channel=channel,
        customer_key=customer_key,
        actor=actor,
    )


def _purchase_attempt(request: _CheckedPurchase) -> tuple[Sale, list[SaleLine]] | PurchaseOutcome:
    """The pending attempt this request starts or continues (with its lines), or the answer its key was already
    given. A new key is inserted straight away (the unique key is the check, so the usual first request costs no
    look-up); the earlier request is read only when the insert finds one. A machine out of service answers its
    earlier keys but takes no new purchase (its status is read with its slots' locks, not from the cached machine).
    """
    key = {"machine": request.machine, "idempotency_key": request.idempotency_key, "request_hash": request.request_hash}
    try:
        return _purchase_record(request)
    except IntegrityError:
        # An earlier request with this key, or a concurrent one that committed first (its insert held ours back).
        record = _purchase_request(**key)
        if record is None:
            raise
    if record.sale.status != Sale.Status.PENDING:
        return _replay(record)
    if not _purchase_renew(sale_id=record.sale_id):
        return _replay(_purchase_request(**key))
    return record.sale, list(record.sale.lines.select_related("slot", "product"))


# The wanted slots of one machine (`{codes}`: one placeholder per slot code) with what the sale needs of their
# products (their moving-average costs last), the units past their date in each (still in the slot until written off,
# but never sold) and the machine's status; then their lots. Run as one batch by `_purchase_record`.
_SLOTS_SQL = """SELECT s.id, s.machine_id, s.code, s.product_id, s.capacity, s.quantity, s.par_level,
       p.sku, p.name_ja, p.price_yen, p.tax_rate, p.active,
       (SELECT COALESCE(SUM(l.quantity), 0) FROM inventory_stocklot l
         WHERE l.slot_id = s.id AND l.quantity > 0 AND l.expires_on < %s) AS expired,
       m.status, m.device_token_hash, p.unit_cost_yen
FROM inventory_slot s JOIN inventory_product p ON p.id = s.product_id JOIN inventory_machine m ON m.id = s.machine_id
WHERE s.machine_id = %s AND s.code IN ({codes})
ORDER BY s.id"""
_LOTS_SQL = """SELECT {lot_columns} FROM inventory_stocklot l JOIN inventory_slot s ON s.id = l.slot_id
WHERE s.machine_id = %s AND s.code IN ({codes}) AND l.product_id = s.product_id AND l.quantity > 0
ORDER BY l.slot_id, {lots_order}"""
_SLOT_FIELDS = ("id", "machine_id", "code", "product_id", "capacity", "quantity", "par_level")
_PRODUCT_FIELDS = ("sku", "name_ja", "price_yen", "tax_rate", "active")


def _stock_reads(machine: Machine, codes: list[str]) -> list[Statement]:
    """The slots locked in id order (so concurrent buyers never deadlock), each with its product share-locked (a
    receipt changing a cost waits for the sales in flight, and they for it; every writer takes a slot before its
    product), then the slots' lots locked. The machine's row is read, not locked."""
    slots_sql, lots_sql = _stock_reads_sql(len(codes), locks=connection.features.has_select_for_update)
    return [(slots_sql, [timezone.localdate(), machine.pk, *codes]), (lots_sql, [machine.pk, *codes])]


@cache
def _stock_reads_sql(slot_count: int, *, locks: bool) -> tuple[str, str]:
    marks = ", ".join(["%s"] * slot_count)
    return (
        _SLOTS_SQL.format(codes=marks) + (" FOR UPDATE OF s FOR SHARE OF p" if locks else ""),
        _LOTS_SQL.format(codes=marks, lot_columns=columns(StockLot, "l"), lots_order=lots_order("l"))
        + (" FOR UPDATE OF l" if locks else ""),
    )


def _slot_from_row(machine: Machine, row: tuple) -> Slot:
    slot = from_row(Slot, row[:7], fields=_SLOT_FIELDS)
    slot.product = from_row(Product, (row[3], *row[7:12]), fields=("id", *_PRODUCT_FIELDS))
    slot.machine = machine
    return slot


def _slots_in_stock(machine: Machine, wanted: dict[str, int], rows: list[tuple], *, orm: bool) -> list[Slot]:
    """The wanted slots (`rows` of `_SLOTS_SQL`), each holding enough, at a machine in service whose token is still
    the one `machine` was read with. A slot missing from `rows` is looked up through the ORM to tell which error it
    is; without `orm` (a coroutine) that raises _NeedsOrm."""
    if len(rows) < len(wanted) and not orm:
        raise _NeedsOrm
    status, token_hash = (
        rows[0][13:15] if rows else Machine.objects.values_list("status", "device_token_hash").get(pk=machine.pk)
    )
    if token_hash != machine.device_token_hash:
        # The machine came from a device token's cache (`machine_for_device_token`) and that token was replaced
        # since, in another process: it buys nothing more.
        raise AuthenticationRequired(_("デバイストークンが正しくないか、無効になっています。"))
    if status != Machine.Status.ACTIVE:
        raise Conflict(_("この自販機は現在ご利用いただけません。"), code="machine_unavailable")
    slots = [_slot_from_row(machine, row) for row in rows]
    if len(slots) < len(wanted):
        # A slot missing from the join is either not on this machine or holds no product (sold out).
        existing = set(Slot.objects.filter(machine=machine, code__in=wanted).values_list("code", flat=True))
        unknown = sorted(set(wanted) - existing)
        if unknown:
            raise ValidationError(
                _("スロット {slots} はこの自販機にありません。").format(slots=", ".join(unknown)),
                details={"field": "items", "slots": unknown},
            )
        raise _sold_out(sorted(existing - {slot.code for slot in slots})[0], 0)
    for slot, row in zip(slots, rows, strict=True):
        # Units past their date stay in the slot until they are written off, but are never sold.
        sellable = slot.quantity - row[12]
        if not slot.product.active or sellable < wanted[slot.code]:
            raise _sold_out(slot.code, sellable if slot.product.active else 0)
    return slots


def _sold_out(slot_code: str, available: int) -> Conflict:
    return Conflict(
        _("スロット {slot} は売り切れです（残り{available}個）。").format(slot=slot_code, available=available),
        code="sold_out",
        details={"slot": slot_code, "available": available},
    )


@dataclass(frozen=True)
class _Pricing:
    """Each slot's line at its price, the coupon's discount spread over the lines, and the totals per tax rate."""

    subtotal: int
    discount: int
    line_discounts: list[int]
    line_totals: list[int]
    total_by_rate: dict[int, int]


def _pricing(slots: list[Slot], wanted: dict[str, int], coupon: Coupon | None) -> _Pricing:
    gross = [slot.product.price_yen * wanted[slot.code] for slot in slots]
    subtotal = sum(gross)
    discount = _coupon_discount(coupon, subtotal)
    line_discounts = _allocate(discount, gross)
    line_totals = [amount - cut for amount, cut in zip(gross, line_discounts, strict=True)]
    total_by_rate = {rate.value: 0 for rate in TaxRate}
    for slot, line_total in zip(slots, line_totals, strict=True):
        total_by_rate[slot.product.tax_rate] += line_total
    return _Pricing(subtotal, discount, line_discounts, line_totals, total_by_rate)


def _purchase_record(request: _CheckedPurchase) -> tuple[Sale, list[SaleLine]]:
    """Step 1: the attempt, committed before any money moves, in two round trips on PostgreSQL: the reads (with
    BEGIN, and the Idempotency-Key first: a second request with this key waits there until ours commits, then fails
    on the unique key), then the writes with COMMIT. A coupon is locked through the ORM, in Django's transaction
    (two round trips more). Returns the sale (its payment attached) and its lines (their slots and products
    attached), so the later steps read none of them back."""
    with batched_transaction(orm=bool(request.coupon_code)) as tx:
        sale, lines, slots = _purchase_record_in(tx, request)
    _purchase_recorded(sale=sale, slots=slots)
    return sale, lines


def _purchase_recorded(*, sale: Sale, slots: list[Slot]) -> None:
    """The attempt's writes, as the saves they stand for, to their listeners (low stock, the live dashboard)."""
    saved(sale, created=True)
    for slot in slots:
        saved(slot, created=False, update_fields=["quantity"])


def _purchase_record_in(tx: BatchedTransaction, request: _CheckedPurchase) -> tuple[Sale, list[SaleLine], list[Slot]]:
    steps = _purchase_record_steps(request, orm=True)
    statements, last = next(steps)
    try:
        while True:
            statements, last = steps.send(tx.batch(statements, last=last))
    except StopIteration as done:
        return done.value


async def _purchase_record_async(
    tx: AsyncBatchedTransaction, request: _CheckedPurchase
) -> tuple[Sale, list[SaleLine], list[Slot]]:
    """`_purchase_record` from a coroutine, in `tx`; its signals are sent by `_purchase_recorded`, on a thread."""
    steps = _purchase_record_steps(request, orm=False)
    statements, last = next(steps)
    try:
        while True:
            statements, last = steps.send(await tx.batch(statements, last=last))
    except StopIteration as done:
        return done.value


def _purchase_record_steps(
    request: _CheckedPurchase, *, orm: bool
) -> Generator[tuple[list[Statement], bool], list[list[tuple]], tuple[Sale, list[SaleLine], list[Slot]]]:
    """The attempt as its two batches: yields (statements, whether they end the transaction) and is sent their
    results; returns the sale (its payment attached), its lines and the slots. Its driver runs them on Django's
    connection or on an async one."""
    machine, wanted = request.machine, request.wanted
    key_sql, key_params = _purchase_request_insert(request)
    reads = yield [(key_sql, key_params), *_stock_reads(machine, sorted(wanted))], False
    sale_id, (slot_rows, lot_rows) = reads[0][0][0], reads[1:]
    slots = _slots_in_stock(machine, wanted, slot_rows, orm=orm)
    unit_costs = {row[3]: row[15] for row in slot_rows}
    coupon = _coupon_for(request.coupon_code, customer_key=request.customer_key) if request.coupon_code else None
    pricing = _pricing(slots, wanted, coupon)
    sale = _sale_pending(sale_id, request, slots, pricing, unit_costs, coupon)
    payment = Payment(
        sale=sale,
        method=request.payment_method,
        amount_yen=sale.total_yen,
        status=Payment.Status.PENDING,
        idempotency_key=f"{machine.code}:{request.idempotency_key}",
    )
    lines, stock_writes = _sale_lines_reserve(
        sale=sale, slots=slots, request=request, pricing=pricing, unit_costs=unit_costs, lot_rows=lot_rows
    )
    coupon_uses = (
        [CouponRedemption(coupon=coupon, sale=sale, customer_key=request.customer_key, discount_yen=pricing.discount)]
        if coupon is not None
        else []
    )
    written = yield (
        [
            insert([sale]),
            insert(lines, returning="id, slot_id"),
            *stock_writes,
            *([insert(coupon_uses)] if coupon_uses else []),
            insert([payment], returning="id"),
        ],
        True,
    )
    line_ids = {slot_id: line_id for line_id, slot_id in written[1]}
    for line in lines:
        line.pk = line_ids[line.slot_id]
    payment.pk = written[-1][0][0]
    return sale, lines, slots


def _sale_pending(
    sale_id: int,
    request: _CheckedPurchase,
    slots: list[Slot],
    pricing: _Pricing,
    unit_costs: dict[int, int],
    coupon: Coupon | None,
) -> Sale:
    return Sale(
        pk=sale_id,
        machine=request.machine,
        channel=request.channel,
        customer_key=request.customer_key,
        coupon=coupon,
        status=Sale.Status.PENDING,
        subtotal_yen=pricing.subtotal,
        discount_yen=pricing.discount,
        total_yen=pricing.subtotal - pricing.discount,
        total_8_yen=pricing.total_by_rate[TaxRate.REDUCED],
        tax_8_yen=split_tax_inclusive(pricing.total_by_rate[TaxRate.REDUCED], TaxRate.REDUCED)[1],
        total_10_yen=pricing.total_by_rate[TaxRate.STANDARD],
        tax_10_yen=split_tax_inclusive(pricing.total_by_rate[TaxRate.STANDARD], TaxRate.STANDARD)[1],
        cost_yen=sum(unit_costs[slot.product_id] * request.wanted[slot.code] for slot in slots),
    )


def _purchase_request_insert(request: _CheckedPurchase) -> Statement:
    """The Idempotency-Key's row, already naming the sale the attempt is about to write (its id is taken here; the
    foreign key is checked at commit); returns that sale id."""
    return (
        "INSERT INTO inventory_purchaserequest (machine_id, idempotency_key, request_hash, sale_id, response_body,"  # noqa: S608
        f" created_at) VALUES (%s, %s, %s, {next_id_sql(Sale)}, %s, %s) RETURNING sale_id",
        [request.machine.pk, request.idempotency_key, request.request_hash, _response_body({}), timezone.now()],
    )


def _sale_lines_reserve(
    *,
    sale: Sale,
    slots: list[Slot],
    request: _CheckedPurchase,
    pricing: _Pricing,
    unit_costs: dict[int, int],
    lot_rows: list[tuple],
) -> tuple[list[SaleLine], list[Statement]]:
    """The sale's lines, and the writes that take their items out of the slots and their lots (first expiring first)
    with the stock movements that record it."""
    actor_label = "" if request.actor is not None else f"machine:{request.machine.code}"
    slot_column = [field.attname for field in StockLot._meta.concrete_fields].index("slot_id")
    lot_rows_by_slot = defaultdict(list)
    for row in lot_rows:
        lot_rows_by_slot[row[slot_column]].append(row)
    lines, movements, writes = [], [], []
    for slot, cut, line_total in zip(slots, pricing.line_discounts, pricing.line_totals, strict=True):
        quantity = request.wanted[slot.code]
        lines.append(
            SaleLine(
                sale=sale,
                slot=slot,
                product=slot.product,
                quantity=quantity,
                unit_price_yen=slot.product.price_yen,
                tax_rate=slot.product.tax_rate,
                discount_yen=cut,
                total_yen=line_total,
                unit_cost_yen=unit_costs[slot.product_id],
            )
        )
        slot.quantity -= quantity
        writes.append(("UPDATE inventory_slot SET quantity = %s WHERE id = %s", [slot.quantity, slot.pk]))
        # Lots become objects only as far as the sale reaches into them.
        lots = (from_row(StockLot, row) for row in lot_rows_by_slot[slot.pk])
        taken = lots_allocate(lots, quantity=quantity, sellable_only=True, product=slot.product)
        writes += [lot_quantity_statement(lot) for lot, _units in taken]
        movements.append(
            StockMovement(
                product=slot.product,
                slot=slot,
                location=StockMovement.Location.SLOT,
                kind=StockMovement.Kind.SALE,
                quantity_delta=-quantity,
                actor=acting_user(request.actor),
                actor_label=actor_label,
                sale=sale,
                lots=[[lot.pk, units] for lot, units in taken],
            )
        )
    return lines, [*writes, insert(movements)]


@transaction.atomic
def _purchase_renew(*, sale_id: int) -> bool:
    """A retry takes over a pending attempt: under the sale's lock (the reconciler gives up attempts under it too),
    renew the payment's lease so the reconciler leaves it alone while this request charges. False if no longer
    pending."""
    sale = Sale.attempts.select_for_update().get(pk=sale_id)
    if sale.status != Sale.Status.PENDING:
        return False
    Payment.objects.filter(sale=sale).update(charge_started_at=timezone.now())
    return True


def _purchase_charge_and_complete(*, sale: Sale, lines: list[SaleLine]) -> PurchaseOutcome:
    """Steps 2 and 3 for a pending attempt, then the dispenser (`purchase_create_async` takes the same steps)."""
    charge = _purchase_charge(sale=sale)
    if charge is not None and not charge.captured:
        return _purchase_unfinished(sale=sale, charge=charge)
    completed, _captured = batch(_completion_statements(sale=sale, charge=charge))
    if not completed:
        return _purchase_unfinished(sale=sale, charge=charge)
    _completion_apply(sale=sale, charge=charge)
    _completion_announce(sale=sale)
    dropped = _purchase_dispense(sale=sale, lines=lines)
    return _purchase_settle_and_refund(sale=sale, lines=lines, dropped=dropped)


def _purchase_charge(*, sale: Sale) -> ChargeResult | None:
    """Step 2: the gateway's charge for the sale's payment (None for a free sale), outside any transaction."""
    payment = sale.payment
    if not payment.amount_yen:
        return None
    require_no_transaction()
    try:
        return payment_gateway().charge(
            amount_yen=payment.amount_yen,
            method=payment.method,
            idempotency_key=payment.idempotency_key,
            description=f"VendBot {sale.machine}",
        )
    except OSError as error:
        # Charged or not, the gateway remembers the key: a retry with the same Idempotency-Key learns which.
        logger.warning("Payment terminal unreachable for sale #%s: %s", sale.pk, type(error).__name__)
        raise ServiceUnavailable(
            _("決済端末と通信できませんでした。同じ操作をもう一度お試しください（二重に請求されることはありません）。"),
            code="payment_unavailable",
        ) from error


def _purchase_unfinished(*, sale: Sale, charge: ChargeResult | None) -> PurchaseOutcome:
    """A declined charge gives the attempt's stock back; then, declined or completed or given up meanwhile by another
    request with this key or by the reconciler, the payment is settled with what the gateway said and the request gets
    the key's answer."""
    if charge is not None and not charge.captured:
        _purchase_decline(sale_id=sale.pk, charge=charge)
    payment_resolve(payment_id=sale.payment.pk, charge=charge)
    return _replay(PurchaseRequest.objects.select_related("sale__machine", "sale__payment").get(sale_id=sale.pk))


def _completion_statements(*, sale: Sale, charge: ChargeResult | None) -> list[Statement]:
    """Step 3, for a captured charge (or a free sale): its two statements' results are the sale's id if this request
    completed it (none if another request or the reconciler settled it first), and nothing. Its journal entry is
    posted after, by the bookkeeper (`books.sales_book_pending`).

    The first statement takes the sale's row lock (as the reconciler and a retry with the same key do), checks that it
    is still pending and completes it; the payment's lock comes second, as everywhere, and its capture is written only
    with the sale completed (by this request, or by a retry with the same key and so the same charge). The batch is
    its own transaction (no BEGIN and COMMIT round trips on PostgreSQL)."""
    return [
        (
            "UPDATE inventory_sale SET status = %s WHERE id = %s AND status = %s RETURNING id",
            [Sale.Status.COMPLETED, sale.pk, Sale.Status.PENDING],
        ),
        (
            "UPDATE inventory_payment SET status = %s, gateway_reference = %s WHERE id = %s AND EXISTS"
            " (SELECT 1 FROM inventory_sale WHERE id = %s AND status = %s)",
            [
                Payment.Status.CAPTURED,
                charge.reference if charge else "",
                sale.payment.pk,
                sale.pk,
                Sale.Status.COMPLETED,
            ],
        ),
    ]


def _completion_apply(*, sale: Sale, charge: ChargeResult | None) -> None:
    """What the completion wrote, on the objects in hand."""
    sale.payment.status = Payment.Status.CAPTURED
    sale.payment.gateway_reference = charge.reference if charge else ""
    sale.status = Sale.Status.COMPLETED


def _completion_announce(*, sale: Sale) -> None:
    # The conditional update wrote the status: listeners (the live dashboard) hear it as the save it stands for.
    saved(sale, created=False, update_fields=["status"])


@transaction.atomic
def _purchase_decline(*, sale_id: int, charge: ChargeResult) -> None:
    sale = Sale.attempts.select_for_update(of=("self",)).select_related("machine").get(pk=sale_id)
    payment = Payment.objects.select_for_update().get(sale=sale)
    if sale.status == Sale.Status.PENDING:
        attempt_release(
            sale=sale,
            payment=payment,
            note=_declined(charge.decline_reason).message,
            payment_status=Payment.Status.DECLINED,
            decline_reason=charge.decline_reason,
        )


def _purchase_dispense(*, sale: Sale, lines: list[SaleLine]) -> dict[int, int]:
    """Tell the machine to drop each line's items (no transaction open: nothing is locked while it works).
    Returns {sale line id: items that came out}."""
    return {
        line.pk: dispenser().dispense(machine_code=sale.machine.code, slot_code=line.slot.code, quantity=line.quantity)
        for line in lines
    }


def _jammed(lines: list[SaleLine], dropped: dict[int, int]) -> bool:
    return any(dropped[line.pk] != line.quantity for line in lines)


def _receipt_dispensed(*, sale: Sale, lines: list[SaleLine]) -> dict:
    """When everything came out (every purchase but a jam): the lines dispensed, and the receipt made from the rows in
    hand."""
    for line in lines:
        line.dispensed_quantity = line.quantity
    return sale_receipt(sale, lines=lines)


def _settled_statements(*, sale: Sale, receipt: dict) -> list[Statement]:
    """Record that everything came out and store the receipt replayed for the same Idempotency-Key: one round trip,
    outside any transaction. PostgreSQL runs a batch as one; each write is safe alone (a receipt not stored is made
    again for a replay)."""
    return [
        ("UPDATE inventory_saleline SET dispensed_quantity = quantity WHERE sale_id = %s", [sale.pk]),
        _receipt_store(sale, receipt),
    ]


def _purchase_settle(*, sale: Sale, lines: list[SaleLine], dropped: dict[int, int]) -> tuple[Sale, dict]:
    """Record what came out, refund what did not, and store the receipt replayed for the same Idempotency-Key."""
    if _jammed(lines, dropped):
        return _jam_record(sale=sale, dropped=dropped)
    receipt = _receipt_dispensed(sale=sale, lines=lines)
    batch(_settled_statements(sale=sale, receipt=receipt))
    return sale, receipt


def _purchase_settle_and_refund(*, sale: Sale, lines: list[SaleLine], dropped: dict[int, int]) -> PurchaseOutcome:
    sale, receipt = _purchase_settle(sale=sale, lines=lines, dropped=dropped)
    if sale.refunded_yen:
        payment_refunds_send(payment_id=sale.payment.pk)  # what a jam refunded
    return PurchaseOutcome(sale=sale, receipt=receipt, replayed=False)


@transaction.atomic
def _jam_record(*, sale: Sale, dropped: dict[int, int]) -> tuple[Sale, dict]:
    """The lines' counts, the refund of what did not come out, and the receipt read again."""
    SaleLine.objects.bulk_update(
        [SaleLine(pk=pk, dispensed_quantity=count) for pk, count in dropped.items()], ["dispensed_quantity"]
    )
    _sale_refund_undispensed(sale=sale)
    sale = Sale.objects.select_related("machine", "coupon", "payment").get(pk=sale.pk)
    receipt = sale_receipt(sale)
    batch([_receipt_store(sale, receipt)])
    return sale, receipt


def _receipt_store(sale: Sale, receipt: dict) -> Statement:
    """The receipt answered again for the same Idempotency-Key."""
    return "UPDATE inventory_purchaserequest SET response_body = %s WHERE sale_id = %s", [
        _response_body(receipt),
        sale.pk,
    ]


def _response_body(body: dict):
    """`body` as the database takes it for `PurchaseRequest.response_body` (JSON)."""
    return PurchaseRequest._meta.get_field("response_body").get_db_prep_save(body, connection)


@transaction.atomic
def _sale_refund_undispensed(*, sale: Sale) -> Sale:
    sale = Sale.objects.select_for_update().get(pk=sale.pk)
    payment = Payment.objects.select_for_update().get(sale=sale)
    missing_by_line = {
        line.pk: line.quantity - line.dispensed_quantity
        for line in sale.lines.all()
        if line.quantity > line.dispensed_quantity
    }
    refund_yen = 0
    missing_items = 0
    unit_costs = {}
    for line in sale.lines.select_related("product", "slot").filter(pk__in=missing_by_line):
        missing = missing_by_line[line.pk]
        refund_yen += line.total_yen * missing // line.quantity
        missing_items += missing
        slot = locked_slot(line.slot)
        unit_costs[line.product_id] = locked_product(line.product).unit_cost_yen
        slot.quantity += missing
        slot.save(update_fields=["quantity"])
        movement_record(
            product=line.product,
            slot=slot,
            kind=StockMovement.Kind.REFUND_RETURN,
            quantity_delta=missing,
            actor_label=f"machine:{sale.machine.code}",
            reason=_("払い出しエラー（ジャム）"),
            sale=sale,
        )
    # The jammed items are back in the slot: booked at today's moving-average cost, before any money moves.
    sale_refund_book(sale=sale, refunded_now=missing_by_line, restocked=True, unit_costs=unit_costs)
    SaleLine.objects.bulk_update(
        [SaleLine(pk=pk, refunded_quantity=missing) for pk, missing in missing_by_line.items()], ["refunded_quantity"]
    )
    payment_refund_owe(payment=payment, amount_yen=refund_yen, purpose="jam")
    sale.refunded_yen = refund_yen
    sale.status = Sale.Status.REFUNDED if refund_yen == sale.total_yen else Sale.Status.PARTIALLY_REFUNDED
    sale.note = _("申し訳ありません。商品が詰まり{count}点をお出しできませんでした。{amount}円を返金しました。").format(
        count=missing_items, amount=f"{refund_yen:,}"
    )
    sale.save(update_fields=["refunded_yen", "status", "note"])
    return sale


@transaction.atomic
def sale_refund_undispensed(*, sale: Sale, actor_label: str) -> Sale:
    """Refund what the machine recorded as not dispensed (a jam, or a dispense that died before it was settled) when
    nothing of the sale was refunded yet: the same booking as the refund at dispense time; the gateway pays it back
    after the commit (the reconciler if that fails). The assistant's policy (own sale, 24 h, once) is its caller's."""
    locked = Sale.objects.select_for_update().get(pk=sale.pk)
    if not sale_undispensed_yen(sale=locked):
        raise Conflict(_("この購入には返金できる払い出しエラーの記録がありません。"), code="nothing_to_refund")
    sale = _sale_refund_undispensed(sale=locked)
    audit_record(
        target=sale,
        action="sale.refund_undispensed",
        actor_label=actor_label,
        to_state=sale.status,
        reason=sale.note,
        data={"amount_yen": sale.refunded_yen},
    )
    payment_id = sale.payment.pk
    transaction.on_commit(lambda: payment_refunds_send(payment_id=payment_id), robust=True)
    return sale


def sale_refund(*, sale: Sale, reason: str, return_to_storage: bool = False, actor=None, actor_label: str = "") -> Sale:
    """Refund what is left of a sale in full. With `return_to_storage`, the returned goods go back to the back room.

    Needs `inventory.refund_sale` for people; a reason is required. One transaction books the refund and records
    what is owed (so a refusal by the books moves no money); after its commit the gateway pays it back, and if the
    gateway cannot be reached the reconciler sends it later (never inside the transaction: STYLE.md, Failure).
    """
    sale = _sale_refund_record(
        sale=sale, reason=reason, return_to_storage=return_to_storage, actor=actor, actor_label=actor_label
    )
    payment_refunds_send(payment_id=sale.payment.pk)
    return sale


@transaction.atomic
def _sale_refund_record(*, sale: Sale, reason: str, return_to_storage: bool, actor, actor_label: str) -> Sale:
    sale, payment, reason = refundable_sale_lock(sale=sale, reason=reason, actor=actor)
    amount = sale.total_yen - sale.refunded_yen
    lines = list(sale.lines.select_related("product"))
    returned_by_line = {line.pk: line.quantity - line.refunded_quantity for line in lines}
    if return_to_storage:
        returned_to_storage(
            sale=sale, lines=lines, units=returned_by_line, actor=actor, reason=reason, actor_label=actor_label
        )
    unit_costs = {line.product_id: locked_product(line.product).unit_cost_yen for line in lines}
    sale_refund_book(
        sale=sale,
        refunded_now={pk: units for pk, units in returned_by_line.items() if units},
        restocked=return_to_storage,
        unit_costs=unit_costs,
        actor=actor,
    )
    SaleLine.objects.filter(sale=sale).update(refunded_quantity=F("quantity"))
    payment_refund_owe(payment=payment, amount_yen=amount, purpose="refund")
    from_state = sale.status
    sale.refunded_yen = sale.total_yen
    sale.status = Sale.Status.REFUNDED
    sale.save(update_fields=["refunded_yen", "status"])
    audit_record(
        target=sale,
        action="sale.refund",
        actor=actor,
        actor_label=actor_label,
        from_state=from_state,
        to_state=sale.status,
        reason=reason,
        data={"amount_yen": amount, "return_to_storage": return_to_storage},
    )
    return sale
