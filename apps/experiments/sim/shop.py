"""One shop's day on plain Python numbers: the engine `Episode` runs, once a morning and once a night.

`engine.py` runs the same rules on arrays with a leading seed axis for the batch; for a single shop NumPy's cost per
call (a microsecond or more, for arrays of ten numbers) was most of the work, so one shop keeps ints and lists and one
seed's scenario is turned into lists once, before the first day (but for the demand: see below). The two must give the
same numbers bit for bit (`tests/experiments/test_batch.py` compares them, bankruptcies included): change a rule in one,
change it in the other. Element-wise steps are `map` over C functions (`operator.add`, `operator.sub`) where they can
be: per element that runs no bytecode, which is most of the cost of a list comprehension over ten numbers (but a `map`
step costs about twice a loop's, so where most numbers are zeros a loop that skips them costs less). Not `min` or `max`:
in Python 3.11 each call parses keyword arguments, which costs more than `a if a < b else b`. Nor
`zip(..., strict=True)` in the daily steps: zip parses its keyword the slow way, a few thousand instructions a call, so
the slots are walked with `enumerate` and indexed, and two-list steps are `map`s. Demand is the only float arithmetic,
`floor(rate * response + rounding)`, worked out on the scenario's arrays for days ahead while the prices stand: the same
IEEE double operations as the batch engine's.
"""

from dataclasses import dataclass
from operator import add, sub

import numpy as np

from .engine import SERIES_NAMES
from .world import PRICE_STEP_YEN, Scenarios, World

DEMAND_DAYS_AHEAD = 7  # the fewest days the demand is worked out for at once


@dataclass(slots=True)
class ScenarioDays:
    """One seed's row of `Scenarios`, as lists indexed [day][...], but for the demand's floats."""

    # (days, products) arrays, the scenario's own rows: demand is worked out on them for days ahead at once, and
    # 7,300 floats are not turned into lists at opening.
    demand_rate: np.ndarray
    rounding: np.ndarray
    machine_offline: list[bool]
    weather: list[int]
    temperature: list[float]
    supplier_available: list[list[bool]]
    ship_permille: list[list[int]]
    supplier_price: list[list[list[int]]]  # [day][supplier][product], the world's shared lists: read, never changed

    @classmethod
    def of(cls, scenarios: Scenarios, row: int, world: World) -> "ScenarioDays":
        """`world` is the one the scenarios were drawn for; its list prices are the same for every seed."""
        return cls(
            demand_rate=scenarios.demand_rate[row],
            rounding=scenarios.rounding[row],
            machine_offline=scenarios.machine_offline[row].tolist(),
            weather=scenarios.weather[row].tolist(),
            temperature=scenarios.temperature[row].tolist(),
            supplier_available=scenarios.supplier_available[row].tolist(),
            ship_permille=scenarios.ship_permille[row].tolist(),
            supplier_price=world.supplier_price_rows(scenarios.days),
        )


def _zeros(rows: int, columns: int) -> list[list[int]]:
    return [[0] * columns for _ in range(rows)]


class Shop:
    """One shop's state. The transit lists are ring buffers indexed by `day % ring`, as in `engine.ShopState`."""

    def __init__(self, world: World, scenario: ScenarioDays, days: int):
        n_products, n_suppliers = len(world.products), len(world.suppliers)
        self.world, self.scenario, self.days = world, scenario, days
        self.ring = world.max_lead_days + 1
        self.response = world.price_response_rows  # [product][price // PRICE_STEP_YEN]
        self._priced: list[int] = []  # the prices `_demand_ahead` was worked out at
        self._priced_day = 0  # the first day at those prices
        self._demand_ahead: list[list[int]] = []  # per day from `_demand_start`, each product's customers
        self._demand_start = 0
        self.lead_days = [s.lead_days for s in world.suppliers]
        self.fee_permille = [s.hidden_fee_permille for s in world.suppliers]
        self.cash = world.starting_cash_yen
        self.price = world.reference_prices().tolist()
        self.slot_product = list(world.initial_slot_products)
        self.slot_units = [0] * world.slot_count
        self.back_units = [0] * n_products
        self.stock_value = [0] * n_products  # what the units on hand (slots + back room) cost
        self.transit_units = _zeros(self.ring, n_products)  # units that will really arrive
        self.transit_value = _zeros(self.ring, n_products)
        self.transit_ordered = _zeros(self.ring, n_products)  # what the shop believes is coming
        self.transit_fee = _zeros(self.ring, n_suppliers)
        self.transit_due = _zeros(self.ring, n_suppliers)
        self.transit_received = _zeros(self.ring, n_suppliers)
        self.supplier_due = [0] * n_suppliers
        self.supplier_received = [0] * n_suppliers
        self.supplier_fees = [0] * n_suppliers
        self.unpaid_days = 0
        self.bankrupt_day = -1
        self.series = {name: [0] * days for name in SERIES_NAMES}
        # Per day and product. A day's close puts in its own lists; until then (and after a bankruptcy, for good) the
        # days share one row of zeros, a tuple, so that it cannot be changed through one of them.
        zero_row = (0,) * n_products
        self.sold = [zero_row] * days
        self.revenue = [zero_row] * days
        self.requests = [zero_row] * days
        # Running totals, [day] = the sum over the days before it, so any window's sum is one subtraction a product.
        # Made up to a window's end when a window of more than a day asks (`window_sums`), not every night: a day's
        # totals cost as much as its figures, and an agent reads a few of them if any (the heuristic, units sold).
        # Tuples: the garbage collector stops tracking a tuple of ints, where it would walk a list of them again in
        # every older-generation collection.
        self.totals = {"sold": [zero_row], "revenue": [zero_row], "requests": [zero_row], "spoiled": [zero_row]}
        self.in_transit = [0] * n_products  # units ordered and not yet arrived, per product
        # Fresh products: what is on hand, oldest delivery first, as [last day it may be sold, units].
        self.shelf_life = list(world.shelf_life_days) or [0] * n_products
        self.cohorts = [[] for _ in range(n_products)]
        self.spoiled = [zero_row] * days
        self.by_day = {"sold": self.sold, "revenue": self.revenue, "requests": self.requests, "spoiled": self.spoiled}

    def window_sums(self, name: str, start: int, end: int) -> list[int]:
        """Per product, the sum of `name` ("sold", "revenue", "requests", "spoiled") over the days start..end-1, all
        of them closed."""
        rows = self.by_day[name]
        if end - start == 1:  # that day's own row: a copy costs less than a subtraction
            return list(rows[start])
        totals = self.totals[name]
        for day in range(len(totals) - 1, end):  # the totals not made yet, up to the window's end
            totals.append(tuple(map(add, totals[day], rows[day])))
        return list(map(sub, totals[end], totals[start]))

    def receive_deliveries(self, day: int) -> None:
        """Morning: what suppliers bring today goes to the back room; what does not fit there is thrown away.

        Today's transit entries are emptied in place as they are read, for the products ordered and the suppliers due
        only: nothing comes of what was not ordered, so every other entry is already zero."""
        ring = day % self.ring
        due = self.transit_due[ring]
        if not any(due):  # every order is due somewhere, so nothing comes today
            return
        arriving, value, ordered = self.transit_units[ring], self.transit_value[ring], self.transit_ordered[ring]
        room = self.world.back_room_capacity_units - sum(self.back_units)
        room = room if room > 0 else 0  # not max(): see above
        ahead = wasted = 0  # in product order, while back-room space lasts
        back, stock_value, in_transit = self.back_units, self.stock_value, self.in_transit
        for product, units_ordered in enumerate(ordered):
            if units_ordered:
                in_transit[product] -= units_ordered
                units = arriving[product]
                if units:
                    space = room - ahead if room > ahead else 0
                    accepted = units if units < space else space
                    ahead += units
                    wasted += units - accepted
                    back[product] += accepted
                    stock_value[product] += value[product] * accepted // units
                    if accepted and self.shelf_life[product]:
                        self.cohorts[product].append([day + self.shelf_life[product] - 1, accepted])
                ordered[product] = arriving[product] = value[product] = 0
        fees, received = self.transit_fee[ring], self.transit_received[ring]
        fee = sum(fees)
        self.cash -= fee
        for supplier, units_due in enumerate(due):
            if units_due:
                self.supplier_due[supplier] += units_due
                self.supplier_received[supplier] += received[supplier]
                self.supplier_fees[supplier] += fees[supplier]
                due[supplier] = received[supplier] = fees[supplier] = 0
        self.series["hidden_fees"][day] = fee
        self.series["units_delivered"][day] = ahead
        self.series["units_wasted"][day] = wasted

    def refill_slots(self) -> list[int]:
        """Every slot topped up from the back room in slot order (`ShopApi.refill_all_slots`); returns per product
        the units in its slots afterwards."""
        capacity, back, slot_units = self.world.slot_capacity_units, self.back_units, self.slot_units
        shelf = [0] * len(back)
        for slot, product in enumerate(self.slot_product):
            if product >= 0:
                units, in_back = slot_units[slot], back[product]
                if in_back and units < capacity:
                    moved = capacity - units if capacity - units < in_back else in_back
                    back[product] = in_back - moved
                    units += moved
                    slot_units[slot] = units
                shelf[product] += units
        return shelf

    def sell_and_close(self, day: int) -> None:
        """Night: customers buy from the slots, the machine fee falls due, and the day's figures are written down.

        Demand belongs to the product, capped by all its units on the shelf together; slots empty in slot order."""
        price, back, value = self.price, self.back_units, self.stock_value
        demand = self._demand(day)
        # One walk of the slots: what each product had on the shelf, and its demand taken from its slots in order
        # (a product's sale is then min(demand, shelf) without a second walk).
        shelf, unmet, slot_units = [0] * len(back), list(demand), self.slot_units
        for slot, product in enumerate(self.slot_product):
            if product >= 0:
                units = slot_units[slot]
                shelf[product] += units
                wanted = unmet[product]
                if wanted:
                    taken = wanted if wanted < units else units
                    slot_units[slot] = units - taken
                    unmet[product] = wanted - taken
        # Per product the units sold, their takings and the customers' requests, in one loop over the products that had
        # customers: fewer steps than `map` over all of them, which costs about twice a loop's step per number.
        sold, revenue, requests = [0] * len(back), [0] * len(back), [0] * len(back)
        for product, wanted in enumerate(demand):
            if wanted:
                left = unmet[product]
                units = wanted - left
                if units:  # what left the shelf takes its share of the product's stock value with it
                    sold[product], revenue[product] = units, units * price[product]
                    cost = value[product]
                    value[product] = cost - cost * units // (shelf[product] + back[product])
                if left:  # about half of the customers who find nothing they want say what they were looking for
                    requests[product] = left // 2
        day_revenue = sum(revenue)
        self.cash += day_revenue
        if self.world.shelf_life_days:
            self._spoil(day, sold)
        self._close(day)
        self.series["revenue"][day] = day_revenue
        self.series["units_sold"][day] = sum(sold)
        self.sold[day], self.revenue[day], self.requests[day] = sold, revenue, requests

    def _demand(self, day: int) -> list[int]:
        """Each product's customers today at today's prices (read, never changed). Worked out on the arrays for as many
        days ahead as the prices have stood so far, a week at least, and again when a price changes: an agent's prices
        mostly settle in the first days, and one NumPy step costs about what ten days of the same arithmetic on lists
        do."""
        if self.price != self._priced:
            self._priced, self._priced_day = list(self.price), day
            self._demand_ahead = []
        ahead = day - self._demand_start
        if ahead >= len(self._demand_ahead):
            stood = day - self._priced_day
            end = day + (stood if stood > DEMAND_DAYS_AHEAD else DEMAND_DAYS_AHEAD)  # not max(): see above
            response = [self.response[p][yen // PRICE_STEP_YEN] for p, yen in enumerate(self._priced)]
            rate, rounding = self.scenario.demand_rate[day:end], self.scenario.rounding[day:end]
            self._demand_ahead = np.floor(rate * response + rounding).astype(np.int64).tolist()
            self._demand_start, ahead = day, 0
        return self._demand_ahead[ahead]

    def _spoil(self, day: int, sold: list[int]) -> None:
        """Night, after the sales (which took the oldest units first): fresh units whose last day was today are thrown
        away, from the machine first (the oldest sit there), at their share of the product's stock value."""
        spoiled = [0] * len(sold)
        for product, cohorts in enumerate(self.cohorts):
            left = sold[product]
            while cohorts and left:
                taken = min(left, cohorts[0][1])
                cohorts[0][1] -= taken
                left -= taken
                if not cohorts[0][1]:
                    cohorts.pop(0)
            while cohorts and cohorts[0][0] <= day:
                spoiled[product] += cohorts.pop(0)[1]
        if any(spoiled):
            self._throw_away(spoiled)
        self.spoiled[day] = spoiled
        self.series["units_wasted"][day] += sum(spoiled)

    def _throw_away(self, spoiled: list[int]) -> None:
        on_hand = list(self.back_units)
        for slot, product in enumerate(self.slot_product):
            if product >= 0:
                on_hand[product] += self.slot_units[slot]
        self.stock_value = [
            cost - cost * units // units_on_hand if units else cost
            for cost, units, units_on_hand in zip(self.stock_value, spoiled, on_hand, strict=True)
        ]
        self._take_from_slots_then_back_room(spoiled)

    def _take_from_slots_then_back_room(self, spoiled: list[int]) -> None:
        left = list(spoiled)
        for slot, product in enumerate(self.slot_product):
            if product >= 0 and left[product]:
                units = self.slot_units[slot]
                taken = left[product] if left[product] < units else units
                self.slot_units[slot] = units - taken
                left[product] -= taken
        self.back_units = list(map(sub, self.back_units, left))

    def _close(self, day: int) -> None:
        """The machine fee, bankruptcy, and the day's balances."""
        fee = self.world.daily_fee_yen
        pays = self.cash >= fee
        if pays:
            self.cash -= fee
            self.unpaid_days = 0
        else:
            self.unpaid_days += 1
            if self.unpaid_days >= self.world.bankruptcy_after_unpaid_days:
                self.bankrupt_day = day
        series = self.series
        series["cash"][day] = self.cash
        series["net_worth"][day] = self.cash + sum(self.stock_value)
        series["stock_units"][day] = sum(self.slot_units) + sum(self.back_units)
        series["machine_fees"][day] = fee if pays else 0

    def book_order(
        self, *, day: int, supplier: int, product: int, quantity: int, unit_price: int, ship_permille: int
    ) -> None:
        """Pay for an already validated order and put what will really arrive on its way."""
        total = quantity * unit_price
        delivered = quantity * ship_permille // 1000
        fee = total * self.fee_permille[supplier] // 1000 if delivered > 0 else 0  # no goods, no surcharge
        ring = (day + self.lead_days[supplier]) % self.ring
        self.cash -= total
        self.series["purchases"][day] += total
        self.transit_units[ring][product] += delivered
        self.transit_value[ring][product] += delivered * unit_price
        self.transit_ordered[ring][product] += quantity
        self.in_transit[product] += quantity
        self.transit_fee[ring][supplier] += fee
        self.transit_due[ring][supplier] += quantity
        self.transit_received[ring][supplier] += delivered

    def freeze_rest(self, day: int) -> None:
        """After bankruptcy nothing moves: the remaining days repeat the last balances with no flows."""
        for name in ("cash", "net_worth", "stock_units"):
            values = self.series[name]
            values[day:] = [values[day - 1]] * (self.days - day)


class BatchOfOne:
    """A `Shop` read as `engine.ShopState`: each attribute a fresh array with a leading batch axis of one
    (`state.cash[0]`, `state.series["cash"][0, day]`, `state.sold_by_product[0, day, product]`), for tests and tools
    written against the batch engine's state. Copies, so reading it never changes the shop."""

    _RENAMED = {"sold_by_product": "sold", "revenue_by_product": "revenue", "requests_by_product": "requests"}

    def __init__(self, shop: Shop):
        self._shop = shop

    def __getattr__(self, name: str):
        value = getattr(self._shop, self._RENAMED.get(name, name))
        if isinstance(value, dict):
            return {key: np.array([item], dtype=np.int64) for key, item in value.items()}
        return np.array([value], dtype=np.int64)
