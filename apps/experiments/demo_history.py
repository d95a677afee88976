"""The demo shop's trading history (`seed_demo`): fixtures/demo/history.yaml, day by day, through the shop's services.

Demand comes from the simulator's calibrated demand model: the catalogue's base demand and the history's weekday
factors become a twin `World` (`calibration.world_from_parameters`), and `draw_scenarios` draws each day's expected
units per product with its weather, noise and demand shocks, turned into whole customers the way the simulator does.
Each customer then buys at the tablet through `purchase_create` at a time of day drawn from the office's hours, while
the staff do what the schedule and the fixture say: the planner at 06:30, deliveries, refills, the approval desk,
supplier payments, refunds and one jam, and the shopkeeper's chats with their model usage. Every step runs under
`demo_clock`, so timestamps, journal dates and sales windows are the ones those days would have had.

A finished day is marked with an audit entry; a run that stopped half-way starts again at the first unmarked day
(sales replay by their Idempotency-Keys)."""

import dataclasses
import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from apps.agents.demo import shopkeeper_name
from apps.agents.models import Agent
from apps.agents.routing import cost_yen
from apps.agents.services import llm_usage_book, llm_usage_record, turn_record
from apps.chats.models import Conversation, Message
from apps.chats.services import conversation_start, conversation_tag, message_record
from apps.core.demo import demo_clock, demo_fixture, demo_history_days, demo_moment, demo_past_quiet
from apps.core.errors import Conflict
from apps.core.models import AuditEntry
from apps.core.progress import progress_bar
from apps.core.services import audit_record
from apps.experiments.calibration import world_from_parameters
from apps.experiments.sim.world import draw_scenarios
from apps.inventory.demo import demo_lot_date
from apps.inventory.models import Machine, Product, PurchaseOrder, Sale, StockLot, Supplier
from apps.inventory.services import (
    machine_fees_charge,
    procurement_plan,
    purchase_create,
    purchase_order_approve,
    purchase_order_pay_supplier,
    purchase_order_receive,
    restock_plan,
    restock_task_complete,
    sale_refund,
    stock_receive,
    supplier_offer_save,
)
from apps.inventory.services.books import sales_book_all
from apps.inventory.services.expiry import expired_stock_write_off
from apps.inventory.services.procurement import purchase_order_needs_manager
from apps.inventory.services.stocktake import stocktake_approve, stocktake_count, stocktake_start

HISTORY_DAY_ACTION = "demo.history_day"
SATURDAY = 5


@dataclass
class Shop:
    """What the history works with, and the orders on their way (order id → the day they arrive)."""

    machine: Machine
    staff: object
    manager: object
    shopkeeper: Agent | None
    fixture: dict
    slot_for_sku: dict[str, str]
    last_day: datetime.date
    arriving: dict[int, datetime.date] = field(default_factory=dict)
    short_delivery_done: bool = False


def seed(*, stdout, options: dict) -> None:
    fixture = demo_fixture("history")
    days = demo_history_days(options)
    machine = Machine.objects.filter(code=fixture["machine"]).first()
    if machine is None or not days:
        return
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(days=days)
    done = _days_done(machine)
    todo = [first_day + datetime.timedelta(days=n) for n in range(days + 1)]  # today too, up to now
    todo = [day for day in todo if day not in done]
    if not todo:
        return
    shop = _shop(machine=machine, fixture=fixture, last_day=today - datetime.timedelta(days=1))
    units = _demand(fixture=fixture, machine=machine, first_day=first_day, days=days + 1)
    sales = 0
    with (
        progress_bar(options.get("progress_stream"), description="取引履歴", total=len(todo)) as advance,
        demo_past_quiet(),
    ):
        for day in todo:
            sales += _trade(shop, day, units[(day - first_day).days], until=now if day == today else None)
            advance(1)
    stdout.write(f"  history: {len(todo)} day(s) of trading at {machine.code} up to now, {sales} sale(s)")


def _days_done(machine: Machine) -> set[datetime.date]:
    entries = AuditEntry.objects.filter(action=HISTORY_DAY_ACTION, object_id=str(machine.pk))
    return {datetime.date.fromisoformat(data["date"]) for data in entries.values_list("data", flat=True)}


def _shop(*, machine: Machine, fixture: dict, last_day: datetime.date) -> Shop:
    users = get_user_model().objects
    open_orders = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.ORDERED)
    return Shop(
        machine=machine,
        staff=users.get(username="staff"),
        manager=users.get(username="manager"),
        shopkeeper=Agent.objects.filter(name=shopkeeper_name()).first(),
        fixture=fixture,
        slot_for_sku={slot.product.sku: slot.code for slot in machine.slots.select_related("product")},
        last_day=last_day,
        # A resumed run: what was on its way arrives on the first day left to write.
        arriving={order.pk: last_day for order in open_orders},
    )


def _demand(*, fixture: dict, machine: Machine, first_day: datetime.date, days: int) -> list[dict[str, int]]:
    """Units each product in a slot is wanted on each day: {sku: units} a day."""
    catalogue = {spec["sku"]: spec for spec in demo_fixture("catalogue")["products"]}
    skus = sorted(sku for sku in machine.slots.values_list("product__sku", flat=True) if sku)
    parameters = {
        "weekday_factors": fixture["weekday_factors"],
        "products": [
            {
                "name": sku,
                "reference_price_yen": catalogue[sku]["price"],
                "unit_cost_yen": catalogue[sku]["unit_cost"],
                "base_demand": catalogue[sku]["demand"],
                "elasticity": 1.8,  # every sale is at the list price, so the response is 1
            }
            for sku in skus
        ],
    }
    world = dataclasses.replace(
        world_from_parameters(parameters),
        start_weekday=first_day.weekday(),
        start_day_of_year=first_day.timetuple().tm_yday - 1,
        machine_offline_spells_per_year=0.0,  # the demo's machine never went dark
    )
    scenarios = draw_scenarios(world, [fixture["seed"]], days)
    units = np.floor(scenarios.demand_rate[0] + scenarios.rounding[0]).astype(int)
    return [dict(zip(skus, (int(u) for u in row), strict=True)) for row in units]


def _trade(shop: Shop, day: datetime.date, wanted: dict[str, int], *, until: datetime.datetime | None) -> int:
    """One day of the shop, in time order, or today's up to `until`; returns the sales made."""
    rng = random.Random(f"{shop.fixture['seed']}-{day.isoformat()}")
    days_ago = (shop.last_day - day).days + 1
    events: list[tuple[datetime.datetime, Callable[[], object]]] = [
        (demo_moment(day, 0, 5), lambda: expired_stock_write_off()),
        (demo_moment(day, 6), lambda: machine_fees_charge(through=day)),
        (demo_moment(day, 6, 30), lambda: procurement_plan()),
        (demo_moment(day, 8), lambda: _receive_deliveries(shop, day)),
        (until or demo_moment(day, 23, 55), lambda: _close(shop, day, book=until is None)),
    ]
    if day.weekday() < SATURDAY:
        events.append((demo_moment(day, shop.fixture["restock_hour"], 30), lambda: _restock(shop)))
    if days_ago and days_ago % shop.fixture["approval_every_days"] == 0:
        events.append((demo_moment(day, 10), lambda: _approve(shop, day)))
    if day.weekday() == shop.fixture["pay_suppliers_weekday"]:
        events.append((demo_moment(day, 16), lambda: _pay_suppliers(shop)))
    events += _one_off_events(shop, day, days_ago)
    events += _chats(shop, day, rng)
    customers = _customers(shop, day, wanted, rng)
    sales = 0
    for at, action in sorted(events + customers, key=lambda event: event[0]):
        if until and at > until:
            continue
        with demo_clock(at):
            sales += action() is True
    return sales


def _customers(shop: Shop, day: datetime.date, wanted: dict[str, int], rng: random.Random) -> list:
    """Each customer's purchase at a time drawn from the office's hours, with a payment method from the mix."""
    units = [sku for sku, count in sorted(wanted.items()) for _ in range(count)]
    rng.shuffle(units)
    hours = shop.fixture["hours_weekend" if day.weekday() >= SATURDAY else "hours_weekday"]
    methods = shop.fixture["payment_methods"]
    customers = []
    while units:
        basket = [units.pop()]
        if units and rng.random() < shop.fixture["two_item_share"]:
            basket.append(units.pop())
        hour = rng.choices(list(hours), weights=list(hours.values()))[0]
        at = demo_moment(day, hour, rng.randrange(60), rng.randrange(60))
        method = rng.choices(list(methods), weights=list(methods.values()))[0]
        key = f"demo-{day.isoformat()}-{len(customers)}"
        customers.append((at, _purchase(shop, basket, method, key)))
    return customers


def _purchase(shop: Shop, basket: list[str], method: str, key: str) -> Callable[[], bool]:
    items: dict[str, int] = {}
    for sku in basket:
        items[shop.slot_for_sku[sku]] = items.get(shop.slot_for_sku[sku], 0) + 1

    def buy() -> bool:
        try:
            _tablet_purchase(
                shop, [{"slot": slot, "quantity": quantity} for slot, quantity in items.items()], method, key
            )
        except Conflict:
            return False  # sold out: the customer leaves with nothing, as at a real machine
        return True

    return buy


def _one_off_events(shop: Shop, day: datetime.date, days_ago: int) -> list:
    """The fixture's jam, event, new price list and refunds that fall on this day."""
    events = []
    jam, event = shop.fixture["jam"], shop.fixture["event"]
    if jam["days_ago"] == days_ago:
        events.append((demo_moment(day, jam["hour"], 30), lambda: _jammed_purchase(shop, day)))
    if event["days_ago"] == days_ago:
        events.append((demo_moment(day, event["hour"]), lambda: _event_purchases(shop, day, event)))
    for supplier in demo_fixture("suppliers")["suppliers"]:
        quotes = supplier.get("new_quotes")
        if quotes and quotes["days_ago"] == days_ago:
            events.append((demo_moment(day, quotes["hour"]), lambda supplier=supplier: _new_quotes(supplier)))
    stocktake, fresh = shop.fixture["stocktake"], shop.fixture["fresh_delivery"]
    if stocktake["days_ago"] == days_ago:
        events.append((demo_moment(day, stocktake["hour"], 30), lambda: _stocktake(shop, stocktake)))
    if days_ago == 0:
        events.append((demo_moment(day, fresh["hour"], 15), lambda: _fresh_delivery(fresh)))
    for refund in shop.fixture["refunds"]:
        if refund["days_ago"] == days_ago:
            at = demo_moment(day, refund["hour"], 45)
            events.append((at, lambda refund=refund, at=at: _refund_last_sale(shop, refund, before=at)))
    return events


def _event_purchases(shop: Shop, day: datetime.date, event: dict) -> None:
    """The organiser buys the event's slots empty, `rounds` times; staff refill them from the back room before each."""
    for round_number in range(event["rounds"]):
        _restock(shop)
        stocked = shop.machine.slots.filter(code__in=event["slots"], quantity__gt=0)
        items = [{"slot": slot.code, "quantity": slot.quantity} for slot in stocked.order_by("code")]
        if items:
            _tablet_purchase(shop, items, "card", f"demo-{day.isoformat()}-event-{round_number}")


def _tablet_purchase(shop: Shop, items: list[dict], method: str, key: str) -> None:
    purchase_create(
        machine=shop.machine,
        items=items,
        coupon_code=None,
        payment_method=method,
        idempotency_key=key,
        channel=Conversation.Channel.TABLET,
    )


def _new_quotes(spec: dict) -> None:
    """A supplier's new price list: staff enter each quote again at the new unit cost."""
    supplier = Supplier.objects.get(name=spec["name"])
    quotes = spec["new_quotes"]
    for sku, unit_cost, pack_size, *_new_product in spec["offers"]:
        if sku:
            supplier_offer_save(
                supplier=supplier,
                product=Product.objects.get(sku=sku),
                unit_cost_yen=unit_cost * (100 + quotes["increase_percent"]) // 100,
                pack_size=pack_size,
                source=quotes["source"],
            )


def _jammed_purchase(shop: Shop, day: datetime.date) -> bool:
    """A customer's drink sticks in the machine: the dispenser jams on every item of this one purchase."""
    sku = max(shop.slot_for_sku, key=lambda sku: shop.machine.slots.get(code=shop.slot_for_sku[sku]).quantity)
    with override_settings(DISPENSER_JAM_RATE=1.0):
        return _purchase(shop, [sku], "ic", f"demo-{day.isoformat()}-jam")()


def _refund_last_sale(shop: Shop, refund: dict, *, before: datetime.datetime) -> None:
    sale = Sale.objects.filter(status=Sale.Status.COMPLETED, created_at__lt=before).order_by("-created_at").first()
    if sale is not None:
        sale_refund(
            sale=sale, reason=refund["reason"], return_to_storage=refund["return_to_storage"], actor=shop.manager
        )


def _restock(shop: Shop) -> None:
    for task in restock_plan(machine=shop.machine):
        restock_task_complete(task=task, actor=shop.staff)


def _approve(shop: Shop, day: datetime.date) -> None:
    """The approval desk: staff approve what they may, the manager what needs a Manager; the goods arrive after the
    supplier's lead time."""
    pending = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL).select_related(
        "supplier"
    )
    for order in pending.order_by("pk"):
        approver = shop.manager if purchase_order_needs_manager(order) else shop.staff
        purchase_order_approve(order=order, actor=approver, reason="定例の発注確認")
        shop.arriving[order.pk] = day + datetime.timedelta(days=order.supplier.lead_time_days)


def _receive_deliveries(shop: Shop, day: datetime.date) -> None:
    """Staff receive what arrives today; in the last week, one delivery of the fixture's supplier comes short and
    the rest stays on order."""
    short = shop.fixture["partial_delivery"]
    for order_id, arrives in sorted(shop.arriving.items()):
        if arrives > day:
            continue
        del shop.arriving[order_id]
        order = PurchaseOrder.objects.select_related("supplier").get(pk=order_id)
        lines = {line.pk: line.outstanding_quantity for line in order.lines.all()}
        note = "納品"
        if _comes_short(shop, order, day):
            lines = {pk: max(1, quantity - short["short_by"]) for pk, quantity in lines.items()}
            note = "一部欠品（残りは後日納品）"
            shop.short_delivery_done = True
        purchase_order_receive(
            order=order, delivered=lines, dates=_label_dates(order, day), actor=shop.staff, note=note
        )


def _label_dates(order: PurchaseOrder, day: datetime.date) -> dict[int, tuple[datetime.date, str]]:
    """The dates on a delivery's fresh food: the catalogue's shelf life from the day it arrives."""
    catalogue = {spec["sku"]: spec for spec in demo_fixture("catalogue")["products"]}
    dates = {}
    for line in order.lines.select_related("product"):
        dated = demo_lot_date(catalogue[line.product.sku], received_on=day)
        if dated:
            dates[line.pk] = (dated["expires_on"], dated["date_kind"])
    return dates


def _fresh_delivery(spec: dict) -> None:
    """A fresh-food delivery straight from the supplier this morning, one day before its date: tomorrow's expiry."""
    product = Product.objects.get(sku=spec["sku"])
    stock_receive(
        product=product,
        quantity=spec["quantity"],
        unit_cost_yen=spec["unit_cost"],
        expires_on=timezone.localdate() + datetime.timedelta(days=spec["expires_in_days"]),
        date_kind=StockLot.DateKind.USE_BY,
        supplier=Supplier.objects.get(name=spec["supplier"]),
        actor_label="seed_demo",
        reason=spec["note"],
    )


def _stocktake(shop: Shop, spec: dict) -> None:
    """Staff count the machine after closing; every slot matches the book but one, short by `missing` units; the
    manager approves and the loss is posted (棚卸減耗損)."""
    stocktake = stocktake_start(machine=shop.machine, actor=shop.staff, note=spec["note"])
    lines = list(stocktake.lines.select_related("slot").order_by("slot__code"))
    stocked = [line.slot.code for line in lines if line.book_at_start >= spec["missing"]]
    # The fixture's slot, or the first one holding enough if that one was sold empty.
    missing_from = spec["slot"] if spec["slot"] in stocked else next(iter(stocked), None)
    for line in lines:
        short = spec["missing"] if line.slot.code == missing_from else 0
        counted = max(line.book_at_start - short, 0)
        stocktake_count(line=line, counted_quantity=counted, reason=spec["reason"] if short else "", actor=shop.staff)
    stocktake_approve(stocktake=stocktake, actor=shop.manager)


def _comes_short(shop: Shop, order: PurchaseOrder, day: datetime.date) -> bool:
    short = shop.fixture["partial_delivery"]
    in_last_week = (shop.last_day - day).days < 7
    already = (
        shop.short_delivery_done
        or PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PARTIALLY_RECEIVED).exists()
    )
    return in_last_week and not already and order.supplier.name == short["supplier"]


def _pay_suppliers(shop: Shop) -> None:
    owed = PurchaseOrder.objects.filter(
        status__in=[PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.PARTIALLY_RECEIVED]
    )
    for order in owed.order_by("pk"):
        if order.payable_yen > order.paid_yen:
            purchase_order_pay_supplier(order=order, actor=shop.manager)


def _chats(shop: Shop, day: datetime.date, rng: random.Random) -> list:
    """Customers' chats at the tablet, picked from conversations.yaml."""
    if shop.shopkeeper is None:
        return []
    weekday_count, weekend_count = shop.fixture["chats_per_day"]
    count = weekend_count if day.weekday() >= SATURDAY else weekday_count
    dialogues = demo_fixture("conversations")["tablet"]
    return [
        (demo_moment(day, rng.randrange(8, 20), rng.randrange(60)), _chat(shop, rng.choice(dialogues), rng))
        for _ in range(count)
    ]


def _chat(shop: Shop, exchanges: list, rng: random.Random) -> Callable[[], None]:
    tokens = shop.fixture["chat_tokens"]
    # Drawn now, so a day's draws do not depend on what its events do.
    usage = [
        (rng.randint(*tokens["input"]), rng.randint(*tokens["output"]), rng.randint(*tokens["latency_ms"]))
        for _ in exchanges
    ]

    @transaction.atomic
    def talk() -> None:
        conversation = conversation_start(machine=shop.machine, channel=Conversation.Channel.TABLET)
        for (asked, answered), (input_tokens, output_tokens, latency_ms) in zip(exchanges, usage, strict=True):
            message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=asked)
            _answer(shop, conversation, answered, input_tokens, output_tokens, latency_ms)
        conversation_tag(conversation=conversation)

    return talk


def _answer(shop: Shop, conversation, text: str, input_tokens: int, output_tokens: int, latency_ms: int) -> None:
    """The shopkeeper's reply and what that turn cost on its model, in the decision log and the usage ledger."""
    model_name = settings.LLM_MODELS["shopkeeper"]
    cost = cost_yen(model_name=model_name, input_tokens=input_tokens, output_tokens=output_tokens)
    turn_record(
        agent=shop.shopkeeper,
        conversation_id=conversation.pk,
        provider=Agent.Provider.ANTHROPIC,
        model_name=model_name,
        tool_calls=[],
        reply_filtered=[],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        cost_yen=cost,
    )
    llm_usage_record(
        agent=shop.shopkeeper,
        model_name=model_name,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_yen=Decimal(cost),
    )
    message_record(
        conversation=conversation,
        sender=Message.Sender.ASSISTANT,
        text=text,
        tokens=input_tokens + output_tokens,
    )


@transaction.atomic
def _close(shop: Shop, day: datetime.date, *, book: bool) -> None:
    """The daily close: the day's sales into the books (as the bookkeeper would have booked them within seconds),
    the day's model usage (not today's, which is not over), and the day marked done."""
    sales_book_all()
    if book:
        llm_usage_book(through=day)
    audit_record(
        target=shop.machine, action=HISTORY_DAY_ACTION, actor_label="seed_demo", data={"date": day.isoformat()}
    )
