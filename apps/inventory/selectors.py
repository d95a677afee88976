"""Reads of the shop: each is a fixed number of queries whatever the data size."""

import copy
import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.models import JournalEntry, PayablePayment
from apps.accounting.selectors.payables import OpenPayable, open_payables
from apps.core.errors import NotFound
from apps.core.invoice import invoice_issuer
from apps.core.money import TaxRate
from apps.core.roles import MANAGER, STAFF
from apps.inventory.integrations.payments import PROVIDER_METHODS, terminal_is_simulated
from apps.inventory.models import (
    Checkout,
    Machine,
    MachineFeeCharge,
    Product,
    ProductRequest,
    PurchaseOrder,
    PurchaseOrderLine,
    Sale,
    SaleLine,
    Slot,
    StockLot,
    StockMovement,
    StorageStock,
    SupplierOffer,
)

_machines_by_token_hash: dict[str, tuple[float, Machine]] = {}


def machine_for_device_token(token_hash: str) -> Machine | None:
    """The machine whose device token hashes to `token_hash`, remembered per process for DEVICE_TOKEN_CACHE_SECONDS
    (`machine_token_cache_clear` forgets them when a machine is saved here); None for no machine. Its fields may be
    that old: a purchase reads the machine's status and token again with its slots' locks."""
    machine = machine_remembered_for_device_token(token_hash)
    if machine is None:
        machine = Machine.objects.filter(device_token_hash=token_hash).first()
        if machine is None:
            return None
        _machines_by_token_hash[token_hash] = (time.monotonic() + settings.DEVICE_TOKEN_CACHE_SECONDS, machine)
        machine = copy.copy(machine)
    return machine


def machine_remembered_for_device_token(token_hash: str) -> Machine | None:
    """The machine `machine_for_device_token` remembers for `token_hash`, None when it remembers none now. Never
    queries: a coroutine may call it (`apps/inventory/consumers.py`)."""
    cached = _machines_by_token_hash.get(token_hash)
    if cached is None or cached[0] <= time.monotonic():
        return None
    # A copy per request: no request changes what another one (or a later one) reads.
    return copy.copy(cached[1])


def machine_token_cache_clear(**kwargs) -> None:
    _machines_by_token_hash.clear()


def machine_get(*, code: str) -> Machine:
    machine = Machine.objects.filter(code__iexact=code).first()
    if machine is None:
        raise NotFound(_("自販機 {code} は登録されていません。").format(code=code))
    return machine


def _product_labels(product: Product | None) -> dict:
    """What the label says: allergens (None while nobody has checked them, so never read as "none"), calories,
    ingredients."""
    if product is None:
        return {"allergens": None, "calories_kcal": None, "ingredients": ""}
    return {
        "allergens": list(product.allergens) if product.allergens_checked else None,
        "calories_kcal": product.calories_kcal,
        "ingredients": product.ingredients,
    }


def machine_products(*, machine_code: str) -> list[dict]:
    """What a machine offers, slot by slot: [{"slot", "sku", "name", "name_en", "category", "price_yen",
    "tax_rate", "quantity", "available", "allergens", "calories_kcal", "ingredients"}]. `quantity` leaves out units
    past their date (they are never sold). Empty slots are listed with `sku` None. Raises NotFound."""
    machine = machine_get(code=machine_code)
    slots = list(Slot.objects.filter(machine=machine).select_related("product").order_by("code"))
    expired = dict(
        StockLot.objects.filter(slot__in=slots, quantity__gt=0, expires_on__lt=timezone.localdate())
        .values("slot_id")
        .annotate(units=Sum("quantity"))
        .values_list("slot_id", "units")
    )
    rows = []
    for slot in slots:
        product = slot.product
        sellable = slot.quantity - expired.get(slot.pk, 0)
        rows.append(
            {
                "slot": slot.code,
                "sku": product.sku if product else None,
                "name": product.name_ja if product else "",
                "name_en": product.name_en if product else "",
                "category": product.category if product else "",
                "image": product.image.url if product and product.image else "",
                "price_yen": product.price_yen if product else None,
                "tax_rate": product.tax_rate if product else None,
                "quantity": sellable,
                "available": bool(product and product.active and sellable > 0),
                **_product_labels(product),
            }
        )
    return rows


def product_search(*, query: str = "", active_only: bool = True) -> QuerySet[Product]:
    """Products whose SKU, Japanese or English name or description contains `query`, with back-room stock and the
    total in slots annotated as `storage_quantity` and `slot_quantity`."""
    products = Product.objects.all()
    if active_only:
        products = products.filter(active=True)
    query = (query or "").strip()
    if query:
        products = products.filter(
            Q(sku__icontains=query)
            | Q(name_ja__icontains=query)
            | Q(name_en__icontains=query)
            | Q(description__icontains=query)
        )
    return products.annotate(slot_quantity=Sum("slots__quantity")).select_related("storage").order_by("sku")


def sale_receipt(sale: Sale, *, lines: list[SaleLine] | None = None) -> dict:
    """The receipt a customer sees (also the stored answer replayed for a repeated Idempotency-Key). `lines`, with
    their slots and products, when the caller has them in hand (the purchase that just wrote them)."""
    if lines is None:
        lines = list(sale.lines.select_related("slot", "product"))
    payment = getattr(sale, "payment", None)
    return {
        "sale_id": sale.pk,
        "machine": sale.machine.code,
        "created_at": sale.created_at.isoformat(),
        # 適格簡易請求書: who issued it (name, registration number) and on which day.
        "issuer": invoice_issuer(),
        "issued_on": timezone.localdate(sale.created_at).isoformat(),
        "status": sale.status,
        "lines": [
            {
                "slot": line.slot.code,
                "sku": line.product.sku,
                "name": line.product.name_ja,
                "quantity": line.quantity,
                "unit_price_yen": line.unit_price_yen,
                "tax_rate": line.tax_rate,
                "reduced_rate": line.tax_rate == TaxRate.REDUCED,
                "discount_yen": line.discount_yen,
                "total_yen": line.total_yen,
                "dispensed_quantity": line.dispensed_quantity,
            }
            for line in lines
        ],
        "subtotal_yen": sale.subtotal_yen,
        "discount_yen": sale.discount_yen,
        "coupon": sale.coupon.code if sale.coupon else None,
        "total_yen": sale.total_yen,
        "tax": [
            {"rate": rate, "total_yen": total, "tax_yen": tax}
            for rate, total, tax in ((8, sale.total_8_yen, sale.tax_8_yen), (10, sale.total_10_yen, sale.tax_10_yen))
            if total
        ],
        "payment": {"method": payment.method, "status": payment.status, "amount_yen": payment.amount_yen}
        if payment
        else None,
        "refunded_yen": sale.refunded_yen,
        "message": sale.note,
        "payment_notice": _simulated_notice(payment),
    }


REDUCED_RATE_MARK = "※"


def receipt_invoice_lines(receipt: dict) -> list[str]:
    """A receipt as the text of a 適格簡易請求書: the issuer and its registration number, the date, each item (※ on
    the reduced rate), the total, and per rate the amount and the tax in it."""
    issuer = receipt.get("issuer") or invoice_issuer()
    lines = [issuer["name"]]
    if issuer["registration_number"]:
        lines.append(_("登録番号 %(number)s") % {"number": issuer["registration_number"]})
    if receipt.get("issued_on"):
        lines.append(datetime.date.fromisoformat(receipt["issued_on"]).strftime("%Y年%m月%d日"))
    for line in receipt["lines"]:
        mark = f" {REDUCED_RATE_MARK}" if line["tax_rate"] == TaxRate.REDUCED else ""
        lines.append(f"{line['name']}{mark} × {line['quantity']}  {line['total_yen']:,}円")
    if receipt["discount_yen"]:
        lines.append(_("割引 -%(yen)s円") % {"yen": f"{receipt['discount_yen']:,}"})
    lines.append(_("合計 %(yen)s円（税込）") % {"yen": f"{receipt['total_yen']:,}"})
    for tax in receipt["tax"]:
        lines.append(
            _("%(rate)s%%対象 %(total)s円（内消費税 %(tax)s円）")
            % {"rate": tax["rate"], "total": f"{tax['total_yen']:,}", "tax": f"{tax['tax_yen']:,}"}
        )
    if any(line["tax_rate"] == TaxRate.REDUCED for line in receipt["lines"]):
        lines.append(_("%(mark)sは軽減税率（8%%）対象商品です。") % {"mark": REDUCED_RATE_MARK})
    return lines


def _simulated_notice(payment) -> str:
    """A receipt paid at the simulated terminal says that no money moved."""
    if payment is None or payment.method in PROVIDER_METHODS or not terminal_is_simulated():
        return ""
    return _("模擬決済端末による支払いです（テスト用）。実際の請求は発生していません。")


@dataclass(frozen=True)
class StockMismatch:
    place: str
    recorded: int
    from_movements: int
    counted_by: str = "movements"  # or "lots"


def _movement_totals(location: str, key: str) -> dict[int, int]:
    movements = StockMovement.objects.filter(location=location).values(key).annotate(total=Sum("quantity_delta"))
    return dict(movements.values_list(key, "total"))


def _lot_mismatches() -> list[tuple[str, int, int]]:
    """(place, units, units in its lots) for every slot and back room whose lots do not add up to its quantity, and
    for lots of another product than their slot's."""
    lots = StockLot.objects.values("slot_id", "product_id").annotate(units=Sum("quantity"))
    in_slot_lots, in_storage_lots = {}, {}
    for row in lots:
        if row["slot_id"] is None:
            in_storage_lots[row["product_id"]] = row["units"]
        else:
            in_slot_lots[(row["slot_id"], row["product_id"])] = row["units"]
    places = []
    for slot in Slot.objects.select_related("machine"):
        units = in_slot_lots.pop((slot.pk, slot.product_id), 0)
        places.append((str(slot), slot.quantity, units))
    # Units in lots of a product the slot no longer holds.
    places += [(f"slot#{slot_id}/product#{product_id}", 0, n) for (slot_id, product_id), n in in_slot_lots.items()]
    for row in StorageStock.objects.select_related("product"):
        places.append((f"storage/{row.product.sku}", row.quantity, in_storage_lots.pop(row.product_id, 0)))
    places += [(f"storage/product#{product_id}", 0, n) for product_id, n in in_storage_lots.items()]
    return places


def stock_integrity_problems() -> list[StockMismatch]:
    """Every slot and back-room quantity that differs from the sum of its movements or of its lots (empty list: all
    is well)."""
    in_slots = _movement_totals(StockMovement.Location.SLOT, "slot_id")
    in_storage = _movement_totals(StockMovement.Location.STORAGE, "product_id")
    places = [(str(slot), slot.quantity, in_slots.get(slot.pk, 0)) for slot in Slot.objects.select_related("machine")]
    storages = StorageStock.objects.select_related("product")
    places += [(f"storage/{row.product.sku}", row.quantity, in_storage.pop(row.product_id, 0)) for row in storages]
    # Back-room movements of a product that has no back-room row at all.
    places += [(f"storage/product#{product_id}", 0, total) for product_id, total in in_storage.items()]
    problems = [
        StockMismatch(place=place, recorded=recorded, from_movements=expected)
        for place, recorded, expected in places
        if recorded != expected
    ]
    return problems + [
        StockMismatch(place=place, recorded=recorded, from_movements=in_lots, counted_by="lots")
        for place, recorded, in_lots in _lot_mismatches()
        if recorded != in_lots
    ]


def product_request_summary(*, status: str | None = ProductRequest.Status.OPEN) -> list[dict]:
    """Requested product names, most wanted first: [{"name", "requesters", "times_requested", "product_sku"}].
    `requesters` counts distinct known customers (anonymous requests count one each)."""
    requests = ProductRequest.objects.all()
    if status:
        requests = requests.filter(status=status)
    rows = (
        requests.values("normalized_name")
        .annotate(
            known=Count("customer_key", distinct=True, filter=~Q(customer_key="")),
            anonymous=Count("id", filter=Q(customer_key="")),
            times=Sum("times_requested"),
        )
        .order_by("normalized_name")
    )
    names = {}
    for request in requests.select_related("product").order_by("created_at"):
        names.setdefault(request.normalized_name, request)
    summary = [
        {
            "name": names[row["normalized_name"]].name,
            "requesters": row["known"] + row["anonymous"],
            "times_requested": row["times"],
            "product_sku": names[row["normalized_name"]].product.sku if names[row["normalized_name"]].product else None,
        }
        for row in rows
    ]
    return sorted(summary, key=lambda item: (-item["requesters"], -item["times_requested"], item["name"]))


def machine_fee_charged_months(*, fee_ids: list[int]) -> set[tuple[int, datetime.date]]:
    """(fee id, month) of every month of these fees that is charged and not reversed."""
    charges = MachineFeeCharge.objects.filter(fee_id__in=fee_ids, reversal_entry__isnull=True)
    return set(charges.values_list("fee_id", "month"))


# --- Procurement ---


@dataclass(frozen=True)
class ProductDemand:
    product: Product
    sold: int  # units sold (net of refunds) in the window
    in_slots: int
    in_storage: int
    wasted: int = 0  # units written off as waste in the window
    shelf_life_days: int | None = None  # days from delivery to date of its latest dated delivery; None: undated

    @property
    def waste_share(self) -> float:
        """The share of what left the shop that was thrown away, not sold."""
        gone = self.sold + self.wasted
        return self.wasted / gone if gone else 0.0

    @property
    def on_hand(self) -> int:
        return self.in_slots + self.in_storage


def procurement_demand(*, since, product_ids=None) -> list[ProductDemand]:
    """Every active product placed in a slot (or the given ones), with its sales since `since` and its stock."""
    products = Product.objects.filter(active=True)
    products = products.filter(pk__in=product_ids) if product_ids is not None else products.filter(slots__isnull=False)
    sold = dict(
        SaleLine.objects.filter(sale__created_at__gte=since, product__in=products)
        .values("product")
        .annotate(units=Sum(F("quantity") - F("refunded_quantity")))
        .values_list("product", "units")
    )
    in_slots = dict(
        Slot.objects.filter(product__in=products)
        .values("product")
        .annotate(total=Sum("quantity"))
        .values_list("product", "total")
    )
    in_storage = dict(StorageStock.objects.filter(product__in=products).values_list("product", "quantity"))
    shelf_lives = _shelf_lives(products)
    wasted = dict(
        StockMovement.objects.filter(kind=StockMovement.Kind.WASTE, created_at__gte=since, product__in=products)
        .values("product")
        .annotate(units=-Sum("quantity_delta"))
        .values_list("product", "units")
    )
    return [
        ProductDemand(
            product=product,
            sold=sold.get(product.pk) or 0,
            in_slots=in_slots.get(product.pk) or 0,
            in_storage=in_storage.get(product.pk, 0),
            wasted=wasted.get(product.pk) or 0,
            shelf_life_days=shelf_lives.get(product.pk),
        )
        for product in products.distinct().order_by("sku")
    ]


def _shelf_lives(products) -> dict[int, int]:
    """{product id: days from delivery to date} of each product's latest dated delivery."""
    lives = {}
    deliveries = StockLot.objects.filter(product__in=products, slot=None, source=None, expires_on__isnull=False)
    for lot in deliveries.order_by("product_id", "-id").only("product_id", "expires_on", "created_at"):
        lives.setdefault(lot.product_id, (lot.expires_on - timezone.localtime(lot.created_at).date()).days)
    return lives


def supplier_offers_valid(*, product_ids, today) -> dict[int, list[SupplierOffer]]:
    """Offers of active suppliers still valid `today`, per product id."""
    offers = (
        SupplierOffer.objects.filter(product_id__in=product_ids, supplier__active=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("supplier")
        .order_by("unit_cost_yen", "id")
    )
    by_product: dict[int, list[SupplierOffer]] = {}
    for offer in offers:
        by_product.setdefault(offer.product_id, []).append(offer)
    return by_product


def purchase_order_open_product_ids() -> set[int]:
    """Products already on an order that is not yet received, rejected or cancelled."""
    return set(PurchaseOrderLine.objects.filter(is_open=True).values_list("product_id", flat=True))


def procurement_month_committed_yen(*, now, exclude_order_id: int | None = None) -> int:
    """Yen (before tax) of this month's approved orders and of the orders still waiting for approval."""
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    orders = PurchaseOrder.objects.filter(
        Q(approved_at__gte=month_start) | Q(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL)
    ).exclude(status=PurchaseOrder.Status.CANCELLED)
    if exclude_order_id is not None:
        orders = orders.exclude(pk=exclude_order_id)
    return orders.aggregate(total=Sum("total_yen"))["total"] or 0


def purchase_order_invoices(*, order: PurchaseOrder) -> QuerySet[JournalEntry]:
    """The supplier invoices of the order: the entries its goods receipts booked (商品 and 仮払消費税 / 買掛金)."""
    receipt_ids = [str(pk) for pk in order.receipts.values_list("pk", flat=True)]
    return JournalEntry.objects.filter(
        source_type=ContentType.objects.get_for_model(StockMovement), source_id__in=receipt_ids
    )


def purchase_order_open_payables(*, order: PurchaseOrder) -> list[OpenPayable]:
    """What the books still owe on the order's own invoices (the books' open payables, oldest first)."""
    invoice_ids = set(purchase_order_invoices(order=order).values_list("pk", flat=True))
    return [item for item in open_payables() if item.entry.pk in invoice_ids]


def purchase_order_paid_elsewhere(*, order: PurchaseOrder) -> list[int]:
    """Numbers of the payments that paid the order's invoices other than its own pay action (the payables page)."""
    own = Q(
        payment_entry__source_type=ContentType.objects.get_for_model(PurchaseOrder),
        payment_entry__source_id=str(order.pk),
    )
    payments = PayablePayment.objects.filter(payable_entry__in=purchase_order_invoices(order=order)).exclude(own)
    return sorted(set(payments.values_list("payment_entry__number", flat=True)))


def purchase_orders_pending_count() -> int:
    return PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL).count()


def procurement_candidates() -> list[dict]:
    """Requested products the shop does not sell yet, most wanted first, each with the offers whose description
    mentions it: [{"name", "requesters", "times_requested", "offers": [SupplierOffer, ...]}]."""
    # The services package imports this module, so its name normaliser is imported here, on use.
    from apps.inventory.services.catalogue import normalized_request_name

    wanted = [row for row in product_request_summary() if row["product_sku"] is None]
    new_offers = list(
        SupplierOffer.objects.filter(product__isnull=True, supplier__active=True).select_related("supplier")
    )
    return [
        {
            **row,
            "offers": [
                offer
                for offer in new_offers
                if normalized_request_name(row["name"]) in normalized_request_name(offer.new_product_description)
            ],
        }
        for row in wanted
    ]


def staff_notification_emails() -> list[str]:
    """E-mail addresses of active Staff and Managers, for notices that need a person."""
    users = get_user_model().objects.filter(is_active=True, groups__name__in=[STAFF, MANAGER]).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def checkout_pickup_notice(*, checkout_id: int) -> dict | None:
    """What the pickup-code message of a paid LINE purchase says: the code, until when, where, what; None when the
    checkout has no live code (already picked up, refunded, never a LINE purchase)."""
    checkout = (
        Checkout.objects.select_related("sale__machine").filter(pk=checkout_id, pickup_code__isnull=False).first()
    )
    if checkout is None or checkout.state != Checkout.State.PAID:
        return None
    sale = checkout.sale
    return {
        "code": checkout.pickup_code,
        "expires_at": checkout.pickup_expires_at,
        "machine": sale.machine.name or sale.machine.code,
        "customer_key": sale.customer_key,
        "lines": [
            {"name": line.product.name_ja, "quantity": line.quantity}
            for line in sale.lines.select_related("product").order_by("pk")
        ],
    }


def sale_undispensed_yen(*, sale: Sale) -> int:
    """What the machine recorded as not dispensed on this sale and nobody has refunded yet (0: nothing)."""
    if sale.refunded_yen:
        return 0
    return sum(
        line.total_yen * (line.quantity - line.dispensed_quantity) // line.quantity
        for line in sale.lines.all()
        if line.dispensed_quantity < line.quantity
    )


# --- what a customer likes (with their consent: chats and the engagement job decide whose keys they pass) ------------

FAVOURITE_MIN_UNITS = 2
TIME_OF_DAY_HOURS = 2  # "this time of day": within this many hours either side of now
MAX_RECOMMENDATIONS = 3


def customer_favourites(*, since: datetime.datetime, customer_keys: list[str] | None = None) -> dict[str, int]:
    """{customer key: id of the product they bought most since `since` (at least twice)}; every known customer, or
    only `customer_keys`. One query."""
    lines = SaleLine.objects.filter(sale__created_at__gte=since)
    lines = lines.filter(sale__customer_key__in=customer_keys) if customer_keys is not None else lines
    rows = (
        lines.exclude(sale__customer_key="")
        .values("sale__customer_key", "product_id")
        .annotate(units=Sum("quantity"))
        .filter(units__gte=FAVOURITE_MIN_UNITS)
        .order_by("sale__customer_key", "-units", "product_id")
    )
    favourites: dict[str, int] = {}
    for row in rows:
        favourites.setdefault(row["sale__customer_key"], row["product_id"])
    return favourites


def products_arrived(*, since: datetime.datetime) -> dict[int, datetime.datetime]:
    """{product id: when it was last received} for products delivered since `since`."""
    return dict(
        StockMovement.objects.filter(kind=StockMovement.Kind.RECEIPT, created_at__gte=since)
        .values("product_id")
        .annotate(at=Max("created_at"))
        .values_list("product_id", "at")
    )


def customer_recommendations(*, customer_key: str, machine: Machine, now: datetime.datetime, days: int) -> list[dict]:
    """What to suggest to this customer at this machine now, each with why: their favourite of the last `days` days
    ("いつもの緑茶が入荷しました" when it arrived within a day), then what they buy at this time of day; only products
    in stock in the machine. A fixed number of queries."""
    since = now - datetime.timedelta(days=days)
    stocked = {
        slot.product_id: slot.product
        for slot in Slot.objects.filter(machine=machine, quantity__gt=0, product__active=True).select_related("product")
    }
    picks: list[dict] = []
    favourite = customer_favourites(since=since, customer_keys=[customer_key]).get(customer_key)
    if favourite in stocked:
        arrived = favourite in products_arrived(since=now - datetime.timedelta(days=1))
        template = _("いつもの{name}が入荷しました") if arrived else _("いつもの{name}があります")
        picks.append(_recommendation(stocked[favourite], template))
    hour = timezone.localtime(now).hour
    usual = (
        SaleLine.objects.filter(sale__customer_key=customer_key, sale__created_at__gte=since)
        .annotate(hour=ExtractHour("sale__created_at"))
        .filter(hour__gte=hour - TIME_OF_DAY_HOURS, hour__lte=hour + TIME_OF_DAY_HOURS)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product_id")
    )
    for row in usual:
        if row["product_id"] in stocked and row["product_id"] != favourite:
            picks.append(_recommendation(stocked[row["product_id"]], _("この時間によく買う{name}")))
    return picks[:MAX_RECOMMENDATIONS]


def _recommendation(product: Product, template: str) -> dict:
    return {"sku": product.sku, "name": product.name_ja, "reason": template.format(name=product.name_ja)}


# --- Lots, expiry and stocktakes ---


def lots_expiring(*, today: datetime.date | None = None, days: int = 1) -> list[StockLot]:
    """Lots still holding units whose date is today or within `days` after it, earliest first, by place."""
    today = today or timezone.localdate()
    return list(
        StockLot.objects.filter(
            quantity__gt=0, expires_on__gte=today, expires_on__lte=today + datetime.timedelta(days=days)
        )
        .select_related("product", "slot__machine")
        .order_by("expires_on", "slot__machine__code", "slot__code", "product__sku")
    )


def expiry_list_by_place(*, today: datetime.date | None = None) -> dict[str, list[StockLot]]:
    """{machine code, or "" for the back room: lots expiring today or tomorrow}: the daily expiry list."""
    places: dict[str, list[StockLot]] = {}
    for lot in lots_expiring(today=today):
        places.setdefault(lot.slot.machine.code if lot.slot_id else "", []).append(lot)
    return places


def stocktake_lines(*, stocktake) -> list:
    """The count's places with their products, slots by code, then the back room by SKU."""
    return list(stocktake.lines.select_related("slot__machine", "product").order_by("slot__code", "product__sku"))
