"""One arena shop's state and its day: the morning (events, fresh food past its date thrown away, card settlement,
deliveries), the agent's actions
(`ArenaShop.set_price`, `order`, `restock_slot`, `assign_slot`, `collect_cash`), and the night (customers, cash and
card, the machine's monthly fees, bankruptcy).

Plain Python numbers, as the simulator's single shop (`sim/shop.py`): for one shop NumPy's cost per call is most of
the work. Money is integer yen; the only float step is the expected demand, as in the simulator. A refused action
raises an `ApplicationError` subclass with a message the agent can act on and changes nothing.

Fresh products (`ArenaProduct.shelf_life_days`) are kept as dated lots, `[last selling day, units]` oldest first, in
the back room and in each slot, as the live shop keeps `StockLot`s: a delivery is a lot dated `shelf_life_days`
after it arrives, a restock moves the back room's earliest-dated units (FEFO), a sale takes a slot's earliest-dated
units, and each morning every unit past its date is thrown away at its share of the product's stock value (the live
00:05 write-off). Other products are plain counts.
"""

from dataclasses import dataclass, field
from math import floor
from operator import sub

from apps.core.errors import Conflict, NotFound, PaymentDeclined, ValidationError
from apps.experiments.sim.world import MAX_PRICE_YEN, PRICE_STEP_YEN

from .events import ArenaScenario, Event
from .world import ArenaWorld

SERIES_NAMES = (
    "net_worth",
    "cash",
    "coin_box",
    "revenue",
    "cash_revenue",
    "purchases",
    "fees",
    "repairs",
    "refunds",
    "hidden_fees",
    "units_sold",
    "stock_units",
    "waste",  # yen of stock at cost thrown away that morning, past its date
    "units_spoiled",
)
CASH_COLLECTION_FEE_YEN = 300  # a staff visit to empty the coin box


@dataclass
class Transit:
    arrival_day: int
    supplier: int
    lines: list[tuple[int, int, int, int]]  # (product, units ordered, units that will arrive, their value)
    fee_yen: int  # charged on delivery beyond the price agreed
    lost: bool = False  # paid and never coming (a scam)


@dataclass
class SupplierRecord:
    units_due: int = 0
    units_received: int = 0
    extra_fees_yen: int = 0
    closed: bool = False


@dataclass
class ArenaShop:
    world: ArenaWorld
    scenario: ArenaScenario
    cash: int = 0
    coin_box: int = 0
    card_pending: int = 0
    arrears: int = 0  # machine fees due and not paid
    unpaid_days: int = 0
    bankrupt_day: int = -1
    day: int = 0
    transits: list[Transit] = field(default_factory=list)

    def __post_init__(self):
        world = self.world
        n = len(world.products)
        self.cash = world.starting_cash_yen
        self.price = [p.reference_price_yen for p in world.products]
        self.slot_product = [product for _code, product, _capacity, _units in world.slots]
        self.slot_capacity = [capacity for _code, _product, capacity, _units in world.slots]
        self.slot_units = [units for _code, _product, _capacity, units in world.slots]
        self.back = [world.opening_back_room.get(p, 0) for p in range(n)]
        on_hand = self.back[:]
        for product, units in zip(self.slot_product, self.slot_units, strict=True):
            on_hand[product] += units
        self.stock_value = [units * cost for units, cost in zip(on_hand, world.fair_cost_yen, strict=True)]
        self.in_transit = [0] * n
        self.suppliers = [SupplierRecord() for _ in world.suppliers]
        self.recalled_until = [-1] * n
        self.series = {name: [0] * self.scenario.days for name in SERIES_NAMES}
        # Running totals per product, one row a day: sales at night; units thrown away and their cost each morning.
        self.totals = {name: [[0] * n] for name in ("sold", "revenue", "requests", "spoiled", "waste")}
        self.shelf_life = [product.shelf_life_days for product in world.products]
        self.fresh_products = [product for product, life in enumerate(self.shelf_life) if life]
        # The opening stock arrived on day 0: one lot per place.
        self.back_lots = {p: [[self.shelf_life[p], self.back[p]]] if self.back[p] else [] for p in self.fresh_products}
        self.slot_lots = [
            [[self.shelf_life[product], units]] if self.shelf_life[product] and units else []
            for product, units in zip(self.slot_product, self.slot_units, strict=True)
        ]
        self.spoiled_today = [0] * n  # this morning's write-off, per product

    # Reads ---------------------------------------------------------------------------------------------------------

    def window_sums(self, name: str, days: int) -> list[int]:
        totals = self.totals[name]
        return list(map(sub, totals[-1], totals[max(len(totals) - 1 - days, 0)]))

    def shelf_units(self) -> list[int]:
        shelf = [0] * len(self.back)
        for product, units in zip(self.slot_product, self.slot_units, strict=True):
            if product >= 0:
                shelf[product] += units
        return shelf

    def net_worth(self) -> int:
        card = self.card_pending - self.card_pending * self.world.card_fee_permille // 1000
        return self.cash + self.coin_box + card + sum(self.stock_value) - self.arrears

    def supplier_open(self, supplier: int) -> bool:
        day = min(self.day, self.scenario.days - 1)
        return not self.suppliers[supplier].closed and self.scenario.base.supplier_available[day][supplier]

    def unit_price(self, supplier: int, product: int) -> int | None:
        """Today's list price with tax (price shocks included), None where the supplier does not list it."""
        listed = self.world.suppliers[supplier].prices_yen.get(product)
        if listed is None:
            return None
        return listed * self.scenario.cost_permille[min(self.day, self.scenario.days - 1)][product] // 1000

    def fair_cost(self, product: int) -> int:
        """Today's fair cost: the lowest listed price (shocks included), open or not: what prices and offers are
        measured against."""
        return (
            self.world.fair_cost_yen[product]
            * self.scenario.cost_permille[min(self.day, self.scenario.days - 1)][product]
            // 1000
        )

    def recalled(self, product: int) -> bool:
        return self.recalled_until[product] > self.day

    def lots(self, product: int) -> list[tuple[str, int, int]]:
        """A fresh product's dated lots on hand, (place, last selling day, units), earliest first: "back_room" or a
        slot code. Empty for a product that keeps."""
        found = [("back_room", last, units) for last, units in self.back_lots.get(product, [])]
        for slot, lots in enumerate(self.slot_lots):
            if self.slot_product[slot] == product:
                found += [(self.world.slots[slot][0], last, units) for last, units in lots]
        return sorted(found, key=lambda lot: lot[1])

    # Actions -------------------------------------------------------------------------------------------------------

    def open_for_business(self) -> None:
        if self.day >= self.scenario.days:
            raise Conflict(f"The run ended after {self.scenario.days} days; nothing more can be done.")
        if self.bankrupt_day >= 0:
            raise Conflict(f"The shop went bankrupt on day {self.bankrupt_day}; nothing can be done.")

    def set_price(self, *, product: int, price_yen: int) -> int:
        if not PRICE_STEP_YEN <= price_yen <= MAX_PRICE_YEN or price_yen % PRICE_STEP_YEN:
            raise ValidationError(
                f"Prices run from ¥{PRICE_STEP_YEN} to ¥{MAX_PRICE_YEN:,} in steps of ¥{PRICE_STEP_YEN}.",
                details={"price_yen": price_yen},
            )
        self.open_for_business()
        old, self.price[product] = self.price[product], price_yen
        return old

    def restock_slot(self, *, slot: int, quantity: int) -> None:
        product = self.slot_product[slot]
        if product < 0:
            raise Conflict(f"Slot {self.world.slots[slot][0]} has no product; assign one first.")
        if self.recalled(product):
            raise Conflict(f"{self.world.products[product].sku} is recalled; it cannot go back on sale yet.")
        if quantity < 1 or quantity > self.back[product]:
            raise Conflict(f"The back room holds {self.back[product]} units of {self.world.products[product].sku}.")
        free = self.slot_capacity[slot] - self.slot_units[slot]
        if quantity > free:
            raise Conflict(f"Slot {self.world.slots[slot][0]} has room for {free} more units.")
        self.open_for_business()
        self.back[product] -= quantity
        self.slot_units[slot] += quantity
        if self.shelf_life[product]:
            moved = _take_oldest(self.back_lots[product], quantity)
            self.slot_lots[slot] = _merged(self.slot_lots[slot], moved)

    def assign_slot(self, *, slot: int, product: int) -> None:
        if self.slot_units[slot]:
            raise Conflict(f"Slot {self.world.slots[slot][0]} still holds stock; it can change product once sold out.")
        self.open_for_business()
        self.slot_product[slot] = product

    def collect_cash(self) -> int:
        """Empty the coin box into the bank (a staff visit, CASH_COLLECTION_FEE_YEN)."""
        if self.coin_box <= CASH_COLLECTION_FEE_YEN:
            raise Conflict(f"The coin box holds ¥{self.coin_box:,}; not worth a visit.")
        self.open_for_business()
        collected = self.coin_box - CASH_COLLECTION_FEE_YEN
        self.cash += collected
        self.series["fees"][self.day] += CASH_COLLECTION_FEE_YEN
        self.coin_box = 0
        return collected

    def order_check(self, *, supplier: int, lines: list[tuple[int, int]], unit_prices: dict[int, int]) -> int:
        """Validate an order (packs, open, minimum, cash); returns its total. Changes nothing."""
        terms = self.world.suppliers[supplier]
        if not lines:
            raise ValidationError("An order needs at least one line.")
        for product, quantity in lines:
            pack = terms.pack_units.get(product)
            if pack is None or unit_prices.get(product) is None:
                raise NotFound(f"{terms.name} does not sell {self.world.products[product].sku}.")
            if quantity < pack or quantity % pack:
                raise ValidationError(f"{terms.name} sells {self.world.products[product].sku} in packs of {pack}.")
            if self.recalled(product):
                raise Conflict(f"{self.world.products[product].sku} is recalled; no one may sell it yet.")
        self.open_for_business()
        if not self.supplier_open(supplier):
            raise Conflict(f"{terms.name} takes no orders today; try another supplier or another day.")
        total = sum(quantity * unit_prices[product] for product, quantity in lines)
        if total < terms.minimum_order_yen:
            raise ValidationError(
                f"{terms.name} takes orders of ¥{terms.minimum_order_yen:,} or more (this: ¥{total:,})."
            )
        if total > self.cash:
            raise PaymentDeclined(f"The order costs ¥{total:,} but the shop has ¥{self.cash:,} in the bank.")
        return total

    def book_order(
        self,
        *,
        supplier: int,
        lines: list[tuple[int, int]],
        unit_prices: dict[int, int],
        ship_permille: int,
        fee_permille: int,
        lost: bool,
    ) -> Transit:
        """Pay for a validated order and put what will really arrive on its way."""
        total = 0
        booked = []
        for product, quantity in lines:
            delivered = 0 if lost else quantity * ship_permille // 1000
            booked.append((product, quantity, delivered, delivered * unit_prices[product]))
            total += quantity * unit_prices[product]
            self.in_transit[product] += quantity
        delivered_value = sum(value for _p, _q, _d, value in booked)
        fee = delivered_value * fee_permille // 1000 if delivered_value else 0
        transit = Transit(self.day + self.world.suppliers[supplier].lead_days, supplier, booked, fee, lost)
        self.transits.append(transit)
        self.cash -= total
        self.series["purchases"][self.day] += total
        return transit

    # The day -------------------------------------------------------------------------------------------------------

    def morning(self) -> list[Event]:
        """Today's events, yesterday's card sales settled, and the deliveries due; returns today's events."""
        day = self.day
        events = self.scenario.events_by_day.get(day, [])
        for event in events:
            getattr(self, f"_on_{event.kind}")(event)
        if self.fresh_products:
            self._write_off()
        if self.card_pending:
            self.cash += self.card_pending - self.card_pending * self.world.card_fee_permille // 1000
            self.card_pending = 0
        arriving = [transit for transit in self.transits if transit.arrival_day == day]
        if arriving:
            self.transits = [transit for transit in self.transits if transit.arrival_day != day]
            for transit in arriving:
                self._receive(transit)
        return events

    def _write_off(self) -> None:
        """Every fresh unit past its date, in the slots and the back room, is thrown away at its share of the
        product's stock value (what the live `expired_stock_write_off` does at 00:05)."""
        day = self.day
        spoiled = [0] * len(self.back)
        for product in self.fresh_products:
            lots = self.back_lots[product]
            while lots and lots[0][0] < day:
                spoiled[product] += lots.pop(0)[1]
        from_back = spoiled[:]
        from_slots = [0] * len(self.slot_units)
        for slot, lots in enumerate(self.slot_lots):
            while lots and lots[0][0] < day:
                from_slots[slot] += lots.pop(0)[1]
            spoiled[self.slot_product[slot]] += from_slots[slot]
        waste = [0] * len(spoiled)
        if any(spoiled):
            shelf = self.shelf_units()
            for product in self.fresh_products:
                if spoiled[product]:
                    waste[product] = (
                        self.stock_value[product] * spoiled[product] // (shelf[product] + self.back[product])
                    )
                    self.stock_value[product] -= waste[product]
            self.back = list(map(sub, self.back, from_back))
            self.slot_units = list(map(sub, self.slot_units, from_slots))
        self.spoiled_today = spoiled
        for name, row in (("spoiled", spoiled), ("waste", waste)):
            totals = self.totals[name]
            totals.append([a + b for a, b in zip(totals[-1], row, strict=True)])
        self.series["units_spoiled"][day] = sum(spoiled)
        self.series["waste"][day] = sum(waste)

    def _receive(self, transit: Transit) -> None:
        record = self.suppliers[transit.supplier]
        room = self.world.back_room_capacity_units - sum(self.back)
        closed = record.closed
        for product, ordered, delivered, value in transit.lines:
            self.in_transit[product] -= ordered
            record.units_due += ordered
            arrived = 0 if closed else delivered
            record.units_received += arrived
            accepted = min(arrived, max(room, 0))
            room -= accepted
            self.back[product] += accepted
            if accepted and self.shelf_life[product]:
                self.back_lots[product] = _merged(
                    self.back_lots[product], [[self.day + self.shelf_life[product], accepted]]
                )
            self.stock_value[product] += value * accepted // arrived if arrived else 0
        if not closed and transit.fee_yen:
            record.extra_fees_yen += transit.fee_yen
            self.cash -= transit.fee_yen
            self.series["hidden_fees"][self.day] += transit.fee_yen

    def _on_breakdown(self, event: Event) -> None:
        self.cash -= event.detail["repair_yen"]
        self.series["repairs"][self.day] += event.detail["repair_yen"]

    def _on_supplier_closed(self, event: Event) -> None:
        self.suppliers[event.detail["supplier"]].closed = True  # what it still owes never comes

    def _on_recall(self, event: Event) -> None:
        """The maker takes the units on hand back at cost; customers of the last days get their money back."""
        product = self.world.sku_index(event.detail["sku"])
        for slot, held in enumerate(self.slot_product):
            if held == product:
                self.slot_units[slot] = 0
                self.slot_lots[slot] = []
        self.back[product] = 0
        if product in self.back_lots:
            self.back_lots[product] = []
        self.cash += self.stock_value[product]
        self.stock_value[product] = 0
        refund = self.window_sums("revenue", self.world.recall_refund_days)[product]
        self.cash -= refund
        self.series["refunds"][self.day] += refund
        self.recalled_until[product] = self.day + event.detail["blocked_days"]

    def _on_rush(self, event: Event) -> None:
        """A rush only raises the day's demand (ArenaScenario.demand_factor)."""

    def _on_price_shock(self, event: Event) -> None:
        """A price shock only raises list prices (ArenaScenario.cost_permille)."""

    def night(self) -> None:
        """Customers buy from the slots (nothing while the machine is broken or the product recalled), cash goes to
        the coin box (once it is full, cash customers walk away), card sales settle tomorrow; fees fall due."""
        day, scenario, world = self.day, self.scenario, self.world
        base = scenario.base
        shelf = self.shelf_units()
        share = scenario.cash_share_permille[day]
        factor = scenario.demand_factor[day]
        if self.coin_box >= world.coin_box_capacity_yen:
            factor = factor * (1000 - share) / 1000
        response = world.sim.price_response_rows
        demand = [0] * len(shelf)
        if not scenario.broken[day]:
            rates, uniforms = base.demand_rate[day].tolist(), base.rounding[day].tolist()  # floats, as the lists were
            for product, (rate, uniform) in enumerate(zip(rates, uniforms, strict=True)):
                if self.recalled_until[product] <= day:
                    demand[product] = floor(
                        rate * response[product][self.price[product] // PRICE_STEP_YEN] * factor + uniform
                    )
        sold = list(map(min, demand, shelf))
        revenue = [units * price for units, price in zip(sold, self.price, strict=True)]
        if any(sold):
            self._take(sold, shelf)
        total = sum(revenue)
        cash_part = 0 if self.coin_box >= world.coin_box_capacity_yen else total * share // 1000 // 10 * 10
        self.coin_box += cash_part
        self.card_pending += total - cash_part
        self._close(day, total, cash_part, sold, demand, revenue)

    def _take(self, sold: list[int], shelf: list[int]) -> None:
        for product, units in enumerate(sold):
            if units:
                on_hand = shelf[product] + self.back[product]
                self.stock_value[product] -= self.stock_value[product] * units // on_hand
        left = list(sold)
        for slot, product in enumerate(self.slot_product):
            if product >= 0 and left[product]:
                taken = min(left[product], self.slot_units[slot])
                self.slot_units[slot] -= taken
                left[product] -= taken
                if self.shelf_life[product]:
                    _take_oldest(self.slot_lots[slot], taken)

    def _close(
        self, day: int, total: int, cash_part: int, sold: list[int], demand: list[int], revenue: list[int]
    ) -> None:
        due = self.world.fees_due(day)
        self.arrears += due
        if self.arrears and self.cash >= self.arrears:
            self.cash -= self.arrears
            self.series["fees"][day] += self.arrears
            self.arrears = 0
        owing = self.arrears > 0 or self.cash < 0
        self.unpaid_days = self.unpaid_days + 1 if owing else 0
        if self.unpaid_days >= self.world.bankruptcy_after_unpaid_days:
            self.bankrupt_day = day
        requests = [(wanted - units) // 2 for wanted, units in zip(demand, sold, strict=True)]
        for name, row in (
            ("sold", sold),
            ("revenue", revenue),
            ("requests", requests),
        ):
            totals = self.totals[name]
            totals.append([a + b for a, b in zip(totals[-1], row, strict=True)])
        series = self.series
        series["revenue"][day] = total
        series["cash_revenue"][day] = cash_part
        series["units_sold"][day] = sum(sold)
        series["cash"][day] = self.cash
        series["coin_box"][day] = self.coin_box
        series["net_worth"][day] = self.net_worth()
        series["stock_units"][day] = sum(self.slot_units) + sum(self.back)

    def freeze_rest(self) -> None:
        """After bankruptcy nothing moves: the remaining days repeat the last balances with no flows."""
        day = self.day
        for name in ("net_worth", "cash", "coin_box", "stock_units"):
            values = self.series[name]
            values[day:] = [values[day - 1]] * (self.scenario.days - day)
        self.day = self.scenario.days


def _take_oldest(lots: list[list[int]], units: int) -> list[list[int]]:
    """Take `units` from dated lots, the earliest first (emptied lots go); returns what was taken, as lots."""
    taken = []
    while units:
        last, held = lots[0]
        moved = min(units, held)
        taken.append([last, moved])
        units -= moved
        if moved == held:
            lots.pop(0)
        else:
            lots[0][1] = held - moved
    return taken


def _merged(lots: list[list[int]], more: list[list[int]]) -> list[list[int]]:
    """Two places' lots as one, earliest first, units of the same date together."""
    by_date: dict[int, int] = {}
    for last, units in lots + more:
        by_date[last] = by_date.get(last, 0) + units
    return [[last, by_date[last]] for last in sorted(by_date)]
