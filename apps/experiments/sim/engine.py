"""The simulated shop's state and its day: deliveries in the morning, the agent's turn, sales and the fee at night.

State arrays carry a leading batch axis so that `batch.py` runs the same morning and night for a thousand seeds at
once; a single episode is a batch of one. All money and stock is integer (numpy int64): floats appear only in the
demand rate drawn up front, and only for deciding how many customers come.
"""

from dataclasses import dataclass

import numpy as np

from .world import PRICE_STEP_YEN, Scenarios, World


def row_sums(values: np.ndarray) -> np.ndarray:
    """Each shop's total of a (B, X) array. einsum sums the short rows several times faster than `np.add.reduce`
    (and without `.sum()`'s Python wrapper); integers add up to the same whatever the order."""
    return np.einsum("bx->b", values)


SERIES_NAMES = (
    "cash",
    "net_worth",
    "stock_units",
    "revenue",
    "purchases",
    "machine_fees",
    "hidden_fees",
    "units_sold",
    "units_delivered",
    "units_wasted",
)


@dataclass(frozen=True)
class SlotLayout:
    """Which product each slot holds: the same in every shop of a batch (its agent never reassigns a slot). The slots
    are grouped in ranks, rank k holding each product's (k+1)-th slot in slot order, so going through a product's slots
    in order (to fill or empty them) is one step per rank on (shops, products) columns, a product's slot or two, rather
    than (shops, slots, products) one-hot arrays or matrix products. A product is in a rank once at most, so a rank's
    column writes never collide."""

    slots_per_product: np.ndarray  # (P,)
    ranks: tuple[tuple[np.ndarray, np.ndarray], ...]  # (slots, the product each holds), first slots first

    @classmethod
    def of(cls, slot_product, n_products: int) -> "SlotLayout":
        slot_product = np.asarray(slot_product, dtype=np.int64)
        assigned = slot_product >= 0
        rank = np.array([np.count_nonzero(slot_product[:slot] == product) for slot, product in enumerate(slot_product)])
        rank_slots = [np.flatnonzero(assigned & (rank == k)) for k in range(rank[assigned].max(initial=-1) + 1)]
        return cls(
            slots_per_product=np.bincount(slot_product[assigned], minlength=n_products),
            ranks=tuple((slots, slot_product[slots]) for slots in rank_slots),
        )

    def per_product(self, slot_values: np.ndarray) -> np.ndarray:
        """(B, N) per slot -> (B, P): the sum over each product's slots."""
        totals = np.zeros((len(slot_values), len(self.slots_per_product)), dtype=slot_values.dtype)
        for slots, products in self.ranks:
            totals[:, products] += slot_values[:, slots]
        return totals


@dataclass
class ShopState:
    """One row per shop (seed). Ring buffers are indexed by `day % ring` so they hold what arrives in the next days."""

    cash: np.ndarray  # (B,)
    price: np.ndarray  # (B, P) tax-inclusive yen
    layout: SlotLayout  # the slots' products, shared by the batch
    slot_units: np.ndarray  # (B, N)
    back_units: np.ndarray  # (B, P)
    stock_value: np.ndarray  # (B, P) what the units on hand (slots + back room) cost, in yen
    transit_units: np.ndarray  # (B, R, P) units that will really arrive
    transit_value: np.ndarray  # (B, R, P) what those units cost
    transit_ordered: np.ndarray  # (B, R, P) units as ordered: what the shop believes is coming
    transit_fee: np.ndarray  # (B, R, S) hidden fees due on arrival, per supplier
    transit_due: np.ndarray  # (B, R, S) units ordered per supplier, due that day
    transit_received: np.ndarray  # (B, R, S) units that supplier will really bring that day
    supplier_due: np.ndarray  # (B, S) units ordered whose arrival day has come
    supplier_received: np.ndarray  # (B, S) units actually received
    supplier_fees: np.ndarray  # (B, S) hidden fees charged so far
    unpaid_days: np.ndarray  # (B,) consecutive days the machine fee could not be paid
    bankrupt_day: np.ndarray  # (B,) -1 while trading
    series: dict[str, np.ndarray]  # name -> (B, days)
    sold_by_product: np.ndarray  # (B, days, P)
    revenue_by_product: np.ndarray  # (B, days, P)
    requests_by_product: np.ndarray  # (B, days, P)

    @classmethod
    def opening(cls, world: World, batch: int, days: int) -> "ShopState":
        n_products, n_suppliers, ring = len(world.products), len(world.suppliers), world.max_lead_days + 1
        zeros = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731 — a local shorthand, not an API
        # The rings and the per-product records are stored slot by slot (day by day) and seen as documented, (B, R, X)
        # and (B, days, P), through transposed views: what a day reads and writes of them, [:, ring] or [:, day], is
        # then one contiguous block rather than B rows far apart.
        by_ring = lambda width: zeros(ring, batch, width).transpose(1, 0, 2)  # noqa: E731
        by_day = lambda: np.zeros((days, batch, n_products), dtype=np.int32).transpose(1, 0, 2)  # noqa: E731
        return cls(
            cash=np.full(batch, world.starting_cash_yen, dtype=np.int64),
            price=np.tile(world.reference_prices(), (batch, 1)),
            layout=SlotLayout.of(world.initial_slot_products, n_products),
            slot_units=zeros(batch, world.slot_count),
            back_units=zeros(batch, n_products),
            stock_value=zeros(batch, n_products),
            transit_units=by_ring(n_products),
            transit_value=by_ring(n_products),
            transit_ordered=by_ring(n_products),
            transit_fee=by_ring(n_suppliers),
            transit_due=by_ring(n_suppliers),
            transit_received=by_ring(n_suppliers),
            supplier_due=zeros(batch, n_suppliers),
            supplier_received=zeros(batch, n_suppliers),
            supplier_fees=zeros(batch, n_suppliers),
            unpaid_days=zeros(batch),
            bankrupt_day=np.full(batch, -1, dtype=np.int64),
            series={name: zeros(batch, days) for name in SERIES_NAMES},
            sold_by_product=by_day(),
            revenue_by_product=by_day(),
            requests_by_product=by_day(),
        )

    @property
    def trading(self) -> np.ndarray:
        return self.bankrupt_day < 0


def _fit_in_back_room(arriving: np.ndarray, value: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What of the arriving units (B, P) fits in the back room, in product order while space lasts, and its value."""
    ahead = np.cumsum(arriving, axis=1) - arriving
    accepted = np.minimum(np.maximum(room[:, None] - ahead, 0), arriving)
    return accepted, value * accepted // np.maximum(arriving, 1)  # accepted <= arriving, so 0 when none arrive


def receive_deliveries(state: ShopState, world: World, day: int) -> None:
    """Morning: what suppliers bring today goes to the back room; what does not fit there is thrown away."""
    ring = day % state.transit_fee.shape[1]
    if not state.transit_due[:, ring].any():  # every order is due somewhere, so nothing comes today
        return
    trading = state.trading
    arriving = state.transit_units[:, ring] * trading[:, None]
    delivered = row_sums(arriving)
    room = np.maximum(world.back_room_capacity_units - row_sums(state.back_units), 0)
    value = state.transit_value[:, ring] * trading[:, None]
    if (delivered <= room).all():  # the usual case (an agent orders within its room): all of it fits, at full value
        accepted, accepted_value = arriving, value
    else:
        accepted, accepted_value = _fit_in_back_room(arriving, value, room)
    state.back_units += accepted
    state.stock_value += accepted_value
    fees = state.transit_fee[:, ring] * trading[:, None]
    fee = row_sums(fees)
    state.cash -= fee
    state.supplier_fees += fees
    state.supplier_due += state.transit_due[:, ring] * trading[:, None]
    state.supplier_received += state.transit_received[:, ring] * trading[:, None]
    for array in (
        state.transit_units,
        state.transit_value,
        state.transit_ordered,
        state.transit_fee,
        state.transit_due,
        state.transit_received,
    ):
        array[:, ring] = 0
    state.series["hidden_fees"][:, day] = fee
    state.series["units_delivered"][:, day] = delivered
    state.series["units_wasted"][:, day] = delivered - row_sums(accepted)


def sell_and_close(state: ShopState, world: World, price_response: np.ndarray, scenarios: Scenarios, day: int) -> None:
    """Night: customers buy from the slots, the machine fee falls due, and the day's figures are written down.

    Demand belongs to the product, not the slot: it is capped by all the product's units on the shelf together, so
    a product in many slots sells no more than in one slot that never runs out.
    """
    n_products, layout = state.back_units.shape[1], state.layout
    trading = state.trading
    shelf = layout.per_product(state.slot_units)
    # [product, price step] as one index into the flat table: a plain take, cheaper than two-array fancy indexing.
    response = price_response.take(np.arange(n_products) * price_response.shape[1] + state.price // PRICE_STEP_YEN)
    rate, rounding = scenarios.demand_rate[:, day], scenarios.rounding[:, day]
    demand = np.floor(rate * response + rounding).astype(np.int64) * trading[:, None]
    sold = np.minimum(demand, shelf)

    # Empty the slots of a product in slot order: what its earlier slots could not give comes from the next.
    to_take = sold.copy()
    for slots, products in layout.ranks:
        taken = np.minimum(to_take[:, products], state.slot_units[:, slots])
        state.slot_units[:, slots] -= taken
        to_take[:, products] -= taken

    on_hand = shelf + state.back_units
    state.stock_value -= state.stock_value * sold // np.maximum(on_hand, 1)  # sold <= on_hand: 0 when nothing is
    revenue = sold * state.price
    day_revenue = row_sums(revenue)
    state.cash += day_revenue

    pays = trading & (state.cash >= world.daily_fee_yen)
    state.cash -= world.daily_fee_yen * pays
    state.unpaid_days = np.where(pays, 0, state.unpaid_days + trading)
    broke = trading & (state.unpaid_days >= world.bankruptcy_after_unpaid_days)
    state.bankrupt_day[broke] = day

    series = state.series
    series["cash"][:, day] = state.cash
    series["net_worth"][:, day] = state.cash + row_sums(state.stock_value)
    units_sold = row_sums(sold)
    series["stock_units"][:, day] = row_sums(on_hand) - units_sold  # the slots give up exactly what is sold
    series["revenue"][:, day] = day_revenue
    series["machine_fees"][:, day] = world.daily_fee_yen * pays
    series["units_sold"][:, day] = units_sold
    state.sold_by_product[:, day] = sold
    state.revenue_by_product[:, day] = revenue
    # About half of the customers who find nothing they want say what they were looking for.
    state.requests_by_product[:, day] = (demand - sold) // 2


def book_orders(state: ShopState, world: World, *, day: int, supplier, quantity, unit_price, ship_permille) -> None:
    """Pay for a day's already validated orders and put what will really arrive on its way.

    `supplier`, `quantity` and `unit_price` are (B, P): for each shop and product the supplier ordered from and the
    quantity, 0 where nothing is ordered (a shop orders a product from one supplier a day at most). `ship_permille` is
    (B, S): the share of what it is paid for that each supplier will bring each shop, for today's orders."""
    ring_size = state.transit_fee.shape[1]
    lead_days, fee_permille = world.supplier_terms["lead_days"], world.supplier_terms["hidden_fee_permille"]
    total = quantity * unit_price
    day_total = row_sums(total)
    state.cash -= day_total
    state.series["purchases"][:, day] += day_total
    # An order arrives on its supplier's lead day: one slice of the rings per supplier ordered from.
    for s in np.flatnonzero(np.bincount(supplier[quantity > 0])).tolist():
        from_it = supplier == s
        ordered = quantity * from_it
        arrival = (day + lead_days[s]) % ring_size
        units = ordered * ship_permille[:, s, None] // 1000
        state.transit_units[:, arrival] += units
        state.transit_value[:, arrival] += units * unit_price
        state.transit_ordered[:, arrival] += ordered
        if fee_permille[s]:  # a surcharge on the order's value, but no goods, no delivery surcharge
            fee = total * from_it * fee_permille[s] // 1000 * (units > 0)
            state.transit_fee[:, arrival, s] += row_sums(fee)
        state.transit_due[:, arrival, s] += row_sums(ordered)
        state.transit_received[:, arrival, s] += row_sums(units)
