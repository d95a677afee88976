"""One simulated shop run day by day, with the action API an agent uses on it.

`ShopApi` is the agent's whole view of the world. Its method names follow the live agent tools (`check_stock`,
`sales_summary`, `set_price`, ...) so that an adapter can route a live agent's tool calls onto it. Every action is
validated the way the live services validate: a refused action raises an `apps.core.errors.ApplicationError` subclass
with a message the agent can act on, and changes nothing.
"""

import dataclasses
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

import numpy as np

from apps.core.errors import Conflict, NotFound, PaymentDeclined, ValidationError

from .engine import SERIES_NAMES
from .shop import BatchOfOne, ScenarioDays, Shop
from .world import MAX_PRICE_YEN, PRICE_STEP_YEN, WEATHER_NAMES, World, draw_scenarios

WEEKDAY_NAMES = ("月", "火", "水", "木", "金", "土", "日")


# Reports are plain slotted dataclasses, not frozen ones: they are fresh copies for the agent, and frozen
# dataclasses are several times slower to build, which shows when an agent reads the shop 365 times a run.
@dataclass(slots=True)
class SupplierQuote:
    supplier: int
    name: str
    available: bool
    lead_days: int
    min_order_units: int
    unit_prices_yen: list[int]  # per product, today
    units_due: int  # units ordered from it whose arrival day has come
    units_received: int
    extra_fees_yen: int  # charged on delivery beyond the quoted price


@dataclass(slots=True)
class StockReport:
    slot_products: list[int]  # -1 for an unassigned slot
    slot_units: list[int]
    slot_capacity_units: int
    back_room_units: list[int]  # per product
    back_room_free_units: int
    in_transit_units: list[int]  # per product, as ordered


@dataclass(slots=True)
class SalesSummary:
    days: int
    units: list[int]  # per product
    revenue_yen: list[int]
    requests: list[int]  # customers who asked for a product they could not buy


@dataclass(slots=True)
class ShopView:
    """Everything the agent can see in the morning, after the deliveries."""

    day: int
    weekday: str
    weather: str
    temperature_c: float
    machine_offline: bool
    cash_yen: int
    prices_yen: list[int]
    stock: StockReport
    yesterday: SalesSummary
    suppliers: list[SupplierQuote]


@dataclass(slots=True)
class OrderConfirmation:
    supplier: int
    product: int
    quantity: int
    unit_price_yen: int
    total_yen: int
    arrival_day: int


def _positional_builder(report: type) -> Callable:
    """A function that builds `report`, a slotted dataclass, from its fields in order, as its `__init__` does, without
    calling the class: in Python 3.11 a class call runs a Python `__init__` through C (type_call, slot_tp_init), about
    400 instructions more than setting the slots in a plain function, and an episode builds ten reports a day."""
    names = [field.name for field in dataclasses.fields(report)]
    source = "".join(
        [f"def build({', '.join(names)}):\n", "    built = new(report)\n"]
        + [f"    built.{name} = {name}\n" for name in names]
        + ["    return built\n"]
    )
    namespace = {"new": object.__new__, "report": report}
    exec(source, namespace)  # noqa: S102 — the source is made of the dataclass's own field names
    return namespace["build"]


_new_supplier_quote = _positional_builder(SupplierQuote)
_new_stock_report = _positional_builder(StockReport)
_new_sales_summary = _positional_builder(SalesSummary)
_new_shop_view = _positional_builder(ShopView)
_new_order_confirmation = _positional_builder(OrderConfirmation)


def _whole_number(value, name: str) -> int:
    if type(value) is int:  # the common case, checked first because agents call this thousands of times a run
        return value
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{name} must be a whole number, got {value!r}.", details={name: value})
    return int(value)


def _days(value) -> int:
    """A window of days to sum over, one at least."""
    days = value if type(value) is int else _whole_number(value, "days")
    if days < 1:
        raise ValidationError("days must be at least 1.", details={"days": days})
    return days


def _index(value, name: str, count: int) -> int:
    value = _whole_number(value, name)
    if not 0 <= value < count:
        raise NotFound(f"There is no {name} {value}; valid ones are 0 to {count - 1}.", details={name: value})
    return value


class ShopApi:
    def __init__(self, episode: "Episode"):
        self._episode = episode
        world = episode.world
        self._product_count, self._supplier_count = len(world.products), len(world.suppliers)
        self._slot_count, self._slot_capacity_units = world.slot_count, world.slot_capacity_units
        self._supplier_terms = [(s, t.name, t.lead_days, t.min_order_units) for s, t in enumerate(world.suppliers)]

    # Reads ---------------------------------------------------------------------------------------------------------

    def observe(self) -> ShopView:
        episode = self._episode
        scenario, shop, day = episode.scenario, episode.shop, episode.quote_day
        return _new_shop_view(  # positional, in the field order, like the reports below: read every day
            day,
            WEEKDAY_NAMES[(episode.world.start_weekday + day) % 7],
            WEATHER_NAMES[scenario.weather[day]],
            round(scenario.temperature[day], 1),
            scenario.machine_offline[day],
            shop.cash,
            list(shop.price),
            self.check_stock(),
            self._sales(1),
            self.supplier_quotes(),
        )

    def cash_yen(self) -> int:
        """`observe().cash_yen` without the rest of the view."""
        return self._episode.shop.cash

    def prices_yen(self) -> list[int]:
        """`observe().prices_yen` without the rest of the view."""
        return list(self._episode.shop.price)

    def check_stock(self) -> StockReport:
        shop, world = self._episode.shop, self._episode.world
        return _new_stock_report(
            list(shop.slot_product),
            list(shop.slot_units),
            world.slot_capacity_units,
            list(shop.back_units),
            world.back_room_capacity_units - sum(shop.back_units),
            list(shop.in_transit),
        )

    def sales_summary(self, *, days: int = 7) -> SalesSummary:
        return self._sales(_days(days))

    def units_sold(self, *, days: int = 7) -> list[int]:
        """`sales_summary(days=).units` alone: per product, the units sold over the last `days` days."""
        return self._episode.shop.window_sums("sold", self._window_start(_days(days)), self._episode.day)

    def _sales(self, days: int) -> SalesSummary:
        shop, today, start = self._episode.shop, self._episode.day, self._window_start(days)
        return _new_sales_summary(
            days,
            shop.window_sums("sold", start, today),
            shop.window_sums("revenue", start, today),
            shop.window_sums("requests", start, today),
        )

    def waste_summary(self, *, days: int = 7) -> list[int]:
        """Units of each product thrown away past their date over the last `days` days (zeros when nothing spoils)."""
        return self._episode.shop.window_sums("spoiled", self._window_start(_days(days)), self._episode.day)

    def _window_start(self, days: int) -> int:
        """The first of the last `days` days (the first day of the episode at the latest)."""
        today = self._episode.day
        return today - days if today > days else 0

    def supplier_quotes(self) -> list[SupplierQuote]:
        episode = self._episode
        shop, scenario, day = episode.shop, episode.scenario, episode.quote_day
        available, prices = scenario.supplier_available[day], scenario.supplier_price[day]
        due, received, fees = shop.supplier_due, shop.supplier_received, shop.supplier_fees
        # Positional, in the field order: read 365 times a run, and keyword arguments cost more to pass. A loop, not a
        # list comprehension, which in Python 3.11 makes a function and a cell for each of the five names it reads.
        quotes = []
        for s, name, lead, min_order in self._supplier_terms:
            quotes.append(
                _new_supplier_quote(
                    s, name, available[s], lead, min_order, list(prices[s]), due[s], received[s], fees[s]
                )
            )
        return quotes

    # Actions -------------------------------------------------------------------------------------------------------

    def set_price(self, *, product: int, price_yen: int) -> None:
        product = self._product(product)
        price_yen = _whole_number(price_yen, "price_yen")
        if not PRICE_STEP_YEN <= price_yen <= MAX_PRICE_YEN or price_yen % PRICE_STEP_YEN:
            raise ValidationError(
                f"Prices run from ¥{PRICE_STEP_YEN} to ¥{MAX_PRICE_YEN:,} in steps of ¥{PRICE_STEP_YEN}.",
                details={"price_yen": price_yen},
            )
        self._episode.open_for_business()
        self._episode.shop.price[product] = price_yen

    def order(self, *, supplier: int, product: int, quantity: int) -> OrderConfirmation:
        """Buy from a supplier, paid now; the goods arrive `lead_days` later in the morning (or, from some, never)."""
        episode = self._episode
        shop, scenario, day = episode.shop, episode.scenario, episode.day
        # The common cases (ints in range, an open shop) are checked here rather than by calls: see Validation below.
        if not (type(supplier) is int and 0 <= supplier < self._supplier_count):
            supplier = _index(supplier, "supplier", self._supplier_count)
        if not (type(product) is int and 0 <= product < self._product_count):
            product = _index(product, "product", self._product_count)
        if type(quantity) is not int:
            quantity = _whole_number(quantity, "quantity")
        terms = episode.world.suppliers[supplier]
        if quantity < terms.min_order_units:
            raise ValidationError(
                f"{terms.name} takes orders of {terms.min_order_units} units or more.",
                details={"quantity": quantity, "min_order_units": terms.min_order_units},
            )
        if day >= episode.days or shop.bankrupt_day >= 0:
            episode.open_for_business()  # which refuses, saying why
        if not scenario.supplier_available[day][supplier]:
            raise Conflict(f"{terms.name} takes no orders today; try another supplier or tomorrow.")
        unit_price = scenario.supplier_price[day][supplier][product]
        total = quantity * unit_price
        if total > shop.cash:
            raise PaymentDeclined(
                f"The order costs ¥{total:,} but the shop has ¥{shop.cash:,}.",
                details={"total_yen": total, "cash_yen": shop.cash},
            )
        shop.book_order(
            day=day,
            supplier=supplier,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            ship_permille=scenario.ship_permille[day][supplier],
        )
        return _new_order_confirmation(supplier, product, quantity, unit_price, total, day + terms.lead_days)

    def restock_slot(self, *, slot: int, quantity: int) -> None:
        """Move units of the slot's product from the back room into the slot."""
        self.restock_slots(units_by_slot={slot: quantity})

    def restock_slots(self, *, units_by_slot: dict[int, int]) -> None:
        """Several `restock_slot` calls in one, in the mapping's order: each slot's request is checked as that call
        checks it, on the back room the requests before it have left, and if one is refused nothing moves."""
        if type(units_by_slot) is not dict:
            raise ValidationError("units_by_slot must map slots to units.", details={"units_by_slot": units_by_slot})
        episode = self._episode
        shop = episode.shop
        slot_product, back, slot_units = shop.slot_product, list(shop.back_units), list(shop.slot_units)
        slot_count, capacity = self._slot_count, self._slot_capacity_units
        for slot, quantity in units_by_slot.items():
            # The common cases (ints in range, an open shop) are checked here rather than by calls: see Validation.
            if not (type(slot) is int and 0 <= slot < slot_count):
                slot = _index(slot, "slot", slot_count)
            if type(quantity) is not int:
                quantity = _whole_number(quantity, "quantity")
            product = slot_product[slot]
            if product < 0:
                raise Conflict(f"Slot {slot} has no product; assign one first.")
            if quantity < 1:
                raise ValidationError("quantity must be at least 1.", details={"quantity": quantity})
            in_back = back[product]
            if quantity > in_back:
                raise Conflict(
                    f"The back room holds {in_back} units of product {product}.", details={"quantity": quantity}
                )
            units = slot_units[slot]
            if quantity > capacity - units:
                raise Conflict(
                    f"Slot {slot} has room for {capacity - units} more units.", details={"quantity": quantity}
                )
            back[product] = in_back - quantity
            slot_units[slot] = units + quantity
        if episode.day >= episode.days or shop.bankrupt_day >= 0:
            episode.open_for_business()  # which refuses, saying why
        shop.back_units, shop.slot_units = back, slot_units

    def refill_all_slots(self) -> list[int]:
        """Top every slot up from the back room, in slot order, as far as its product's units there last: what
        `restock_slots` with each slot's free room (or what is left of its product, if less) moves, in one call with
        nothing to check. Returns per product the units in its slots afterwards."""
        episode = self._episode
        episode.open_for_business()  # once a day: the inline check of the per-product actions would save nothing here
        return episode.shop.refill_slots()

    def assign_slot(self, *, slot: int, product: int) -> None:
        episode = self._episode
        slot = self._slot(slot)
        product = self._product(product)
        if episode.shop.slot_units[slot]:
            raise Conflict(f"Slot {slot} still holds stock; it can change product once sold out.")
        episode.open_for_business()
        episode.shop.slot_product[slot] = product

    # Validation ----------------------------------------------------------------------------------------------------

    # Each checks the common case, an int in range, itself: agents call these thousands of times a run. The hottest
    # actions (`order`, `restock_slots`) check it without the call, which in Python 3.11 costs more than the check.

    def _product(self, value) -> int:
        count = self._product_count
        return value if type(value) is int and 0 <= value < count else _index(value, "product", count)

    def _slot(self, value) -> int:
        count = self._slot_count
        return value if type(value) is int and 0 <= value < count else _index(value, "slot", count)


class Agent(Protocol):
    name: str

    def act(self, shop: ShopApi) -> None:
        """Take today's actions through `shop`; whatever is not done by returning waits for tomorrow."""


@dataclass(frozen=True)
class EpisodeResult:
    seed: int
    days: int
    agent: str
    bankrupt_day: int | None
    series: dict[str, np.ndarray]  # name -> (days,) int64
    sold_by_product: np.ndarray  # (days, products)
    requests_by_product: np.ndarray  # (days, products) customers who asked for a product they could not buy
    elapsed_seconds: float
    spoiled_by_product: np.ndarray | None = None  # (days, products) fresh units thrown away past their date

    @property
    def final_net_worth(self) -> int:
        return int(self.series["net_worth"][-1])

    def summary(self) -> dict:
        return {
            "seed": self.seed,
            "days": self.days,
            "agent": self.agent,
            "final_net_worth_yen": self.final_net_worth,
            "final_cash_yen": int(self.series["cash"][-1]),
            "bankrupt_day": self.bankrupt_day,
            "revenue_yen": int(self.series["revenue"].sum()),
            "purchases_yen": int(self.series["purchases"].sum()),
            "machine_fees_yen": int(self.series["machine_fees"].sum()),
            "hidden_fees_yen": int(self.series["hidden_fees"].sum()),
            "units_sold": int(self.series["units_sold"].sum()),
            "units_wasted": int(self.series["units_wasted"].sum()),
            "elapsed_seconds": self.elapsed_seconds,
        }


class Episode:
    def __init__(self, world: World, seed: int, days: int):
        if days < 1:
            raise ValidationError("An episode needs at least one day.", details={"days": days})
        self.world = world
        self.days = days
        self.day = 0
        self.scenarios = draw_scenarios(world, [seed], days)  # a batch of one
        self.scenario = ScenarioDays.of(self.scenarios, 0, world)  # its row as lists, for the days
        self.shop = Shop(world, self.scenario, days)
        self.api = ShopApi(self)

    @property
    def state(self) -> BatchOfOne:
        """The shop as the batch engine's arrays (copies), for tests and tools that read either engine."""
        return BatchOfOne(self.shop)

    @property
    def quote_day(self) -> int:
        """Today, or the last day once the episode is over, so the reads still answer."""
        last = self.days - 1
        return self.day if self.day < last else last  # not min(): read every morning, and min parses keywords

    @property
    def bankrupt(self) -> bool:
        return self.shop.bankrupt_day >= 0

    def open_for_business(self) -> None:
        if self.day >= self.days:
            raise Conflict(f"The episode ended after {self.days} days; nothing more can be done.")
        if self.shop.bankrupt_day >= 0:
            raise Conflict(f"The shop went bankrupt on day {self.shop.bankrupt_day}; nothing can be done.")

    def run_day(self, agent: Agent) -> None:
        self.open_for_business()
        self.shop.receive_deliveries(self.day)
        agent.act(self.api)
        self.shop.sell_and_close(self.day)
        self.day += 1

    def freeze_rest(self) -> None:
        """After bankruptcy nothing moves: the remaining days repeat the last balances with no flows."""
        self.shop.freeze_rest(self.day)
        self.day = self.days


def _packed(numbers, dtype: type, count: int) -> np.ndarray:
    """`count` Python ints as a writable array of `dtype`, packed by `struct` as the C type NumPy names for it: that
    converts an int in about two thirds of what `np.fromiter` takes (and `np.array` walks a list slower still)."""
    c_type = np.dtype(dtype).char  # "l" or "q" for int64, "i" for int32: struct's native codes are the same
    return np.frombuffer(bytearray(struct.pack(f"{count}{c_type}", *numbers)), dtype=dtype)


def _by_day(rows: list) -> np.ndarray:
    """(days, products) int32 from one row a day, the rows run together."""
    return _packed(chain.from_iterable(rows), np.int32, len(rows) * len(rows[0])).reshape(len(rows), -1)


def run_episode(
    *, world: World, seed: int, days: int, agent: Agent, on_day: Callable[[int], None] | None = None
) -> EpisodeResult:
    started = time.perf_counter()
    episode = Episode(world, seed, days)
    while episode.day < days:
        episode.run_day(agent)
        if episode.bankrupt:
            episode.freeze_rest()
        if on_day:
            on_day(episode.day)
    elapsed = time.perf_counter() - started
    # The api and the episode refer to each other: parted, the episode and its thousands of lists are freed by
    # reference counting when this returns, instead of surviving into the garbage collector's older generations,
    # which walk them again on every pass until a collection finds the cycle (about 3 M instructions an episode).
    episode.api = None
    shop = episode.shop
    return EpisodeResult(
        seed=seed,
        days=days,
        agent=agent.name,
        bankrupt_day=shop.bankrupt_day if episode.bankrupt else None,
        series={name: _packed(shop.series[name], np.int64, days) for name in SERIES_NAMES},
        sold_by_product=_by_day(shop.sold),
        requests_by_product=_by_day(shop.requests),
        elapsed_seconds=elapsed,
        spoiled_by_product=_by_day(shop.spoiled) if world.has_fresh_products else None,
    )
