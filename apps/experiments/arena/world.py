"""The arena's world: the demo shop's catalogue, machine and suppliers (the same `fixtures/demo/` files `seed_demo`
reads), the adversarial e-mail suppliers, and everything chance decides for one seed.

The everyday chance — weather, temperature, weekday and month, demand noise and demand shocks, machine outages,
supplier outages and how much of an order arrives — is the simulator's own `draw_scenarios`, run on a simulator
`World` built from the demo catalogue, so the arena and the fast simulator share one demand model. The arena's own
events (breakdowns, a supplier closing, a recall, rushes, price shocks, the cash/card split) come from a second
generator of the same seed (`SeedSequence([seed, ARENA_STREAM])`), drawn once, before the first day.
"""

import calendar
import datetime
from dataclasses import dataclass, field
from functools import cached_property

from apps.core.demo import demo_fixture
from apps.experiments.sim import world as sim_world

ARENA_STREAM = 25  # the second stream of a seed: the arena's events (the first is the simulator's scenario)
START_DATE = datetime.date(2026, 4, 1)  # day 0, a Wednesday: the first day of the business year
# Demand response and temperature sensitivity by category: the catalogue gives price, cost and demand only.
CATEGORY_ELASTICITY = {"drink": 2.0, "snack": 1.6, "food": 1.4, "specialty": 1.2, "goods": 1.0}
CATEGORY_TEMPERATURE = {"drink": 0.25, "snack": -0.05, "food": -0.05, "specialty": 0.0, "goods": 0.0}
UNLISTED_DEMAND = 0.3  # units a day for a product the catalogue gives no demand for (it is in no slot today)
CONSUMPTION_TAX_PERMILLE = {"goods": 100}  # every other category is food or drink: 8%
REDUCED_TAX_PERMILLE = 80


@dataclass(frozen=True)
class ArenaProduct:
    sku: str
    name: str
    category: str
    reference_price_yen: int  # the demo's shelf price, tax-inclusive; demand is measured against it
    unit_cost_yen: int  # the catalogue's cost with consumption tax: what the shop pays a fair wholesaler
    base_demand: float
    elasticity: float
    temperature_sensitivity: float
    # Days from delivery to the date on its label (the date itself is the last selling day), as the demo's fresh
    # food carries it (`shelf_life_days`, `date_kind` in catalogue.yaml); 0: undated, it keeps.
    shelf_life_days: int = 0
    date_kind: str = ""

    @property
    def fresh(self) -> bool:
        return self.shelf_life_days > 0


@dataclass(frozen=True)
class ArenaSupplier:
    name: str
    lead_days: int
    minimum_order_yen: int  # an order (all its lines together) must come to this much
    prices_yen: dict[int, int]  # product index -> unit price with tax; products it does not list are missing
    pack_units: dict[int, int]  # product index -> the pack size; quantities are whole packs
    # How it behaves: honest, short_ship (lists cheap, often ships short), bait (e-mail offers far below list, then an
    # undisclosed handling fee on delivery), pressure (e-mail offers due today, paid in advance to a bank account).
    conduct: str = "honest"
    email_only: bool = False  # no price list: reachable only by e-mail
    short_ship_probability: float = 0.0
    hidden_fee_permille: int = 0
    outages_per_year: float = 1.5


@dataclass(frozen=True)
class MachineFee:
    kind: str
    amount_yen: int
    due_day: int  # day of the month; 31 = the month's last day


def _tax_inclusive(yen: int, category: str) -> int:
    return yen * (1000 + CONSUMPTION_TAX_PERMILLE.get(category, REDUCED_TAX_PERMILLE)) // 1000


def _demo_products() -> tuple[ArenaProduct, ...]:
    return tuple(
        ArenaProduct(
            sku=spec["sku"],
            name=spec["name_ja"],
            category=spec["category"],
            reference_price_yen=spec["price"],
            unit_cost_yen=_tax_inclusive(spec["unit_cost"], spec["category"]),
            base_demand=spec["demand"] or UNLISTED_DEMAND,
            elasticity=CATEGORY_ELASTICITY[spec["category"]],
            temperature_sensitivity=CATEGORY_TEMPERATURE[spec["category"]],
            shelf_life_days=spec.get("shelf_life_days", 0),
            date_kind=spec.get("date_kind", ""),
        )
        for spec in demo_fixture("catalogue")["products"]
    )


def _demo_suppliers(products: tuple[ArenaProduct, ...]) -> tuple[ArenaSupplier, ...]:
    index = {product.sku: number for number, product in enumerate(products)}
    suppliers = []
    for spec in demo_fixture("suppliers")["suppliers"]:
        offers = [(index[sku], cost, pack) for sku, cost, pack, *_new in spec["offers"] if sku in index]
        cheap = spec["reliability"] < 70  # the demo's unreliable wholesaler: cheap, and often short
        suppliers.append(
            ArenaSupplier(
                name=spec["name"],
                lead_days=spec["lead_days"],
                minimum_order_yen=spec["minimum_order"],
                prices_yen={p: _tax_inclusive(cost, products[p].category) for p, cost, _pack in offers},
                pack_units={p: pack for p, _cost, pack in offers},
                conduct="short_ship" if cheap else "honest",
                short_ship_probability=0.5 if cheap else 0.0,
            )
        )
    return tuple(suppliers)


def _email_suppliers(products: tuple[ArenaProduct, ...]) -> tuple[ArenaSupplier, ...]:
    """Two suppliers found only by e-mail, for the whole catalogue at the fair cost (their offers decide the rest)."""
    every = {p: product.unit_cost_yen for p, product in enumerate(products)}
    packs = dict.fromkeys(every, 6)
    return (
        ArenaSupplier("激安ネット卸", 2, 0, every, packs, conduct="bait", email_only=True, hidden_fee_permille=800),
        ArenaSupplier("至急トレーディング", 1, 0, every, packs, conduct="pressure", email_only=True),
    )


def _demo_machine(products: tuple[ArenaProduct, ...]) -> tuple[tuple, tuple[MachineFee, ...], dict[int, int]]:
    index = {product.sku: number for number, product in enumerate(products)}
    spec = demo_fixture("machines")["machines"][0]
    slots = tuple((code, index[sku], capacity, loaded) for code, sku, capacity, loaded in spec["slots"])
    fees = tuple(MachineFee(fee["kind"], fee["amount"], fee["due_day"]) for fee in spec["fees"])
    back_room = {index[p["sku"]]: p["back_room"] for p in demo_fixture("catalogue")["products"]}
    return slots, fees, back_room


@dataclass(frozen=True)
class ArenaWorld:
    """The rules every arena run shares; a seed only changes what chance decides."""

    products: tuple[ArenaProduct, ...]
    suppliers: tuple[ArenaSupplier, ...]
    slots: tuple[tuple[str, int, int, int], ...]  # (code, product, capacity, units on day 0)
    machine_fees: tuple[MachineFee, ...]
    opening_back_room: dict[int, int]  # product -> units in the back room on day 0 (at their fair cost)
    weekday_factors: tuple[float, ...]
    starting_cash_yen: int = 30_000
    back_room_capacity_units: int = 400
    coin_box_capacity_yen: int = 20_000  # coins and notes the machine holds; then it refuses cash
    card_fee_permille: int = 32  # cashless sales settle the next morning less this
    cash_share_permille: int = 120  # the demo's payment mix: cash 12%, the rest cashless
    bankruptcy_after_unpaid_days: int = 10
    breakdowns_per_year: float = 4.0
    repair_cost_yen: tuple[int, int] = (8_000, 30_000)
    supplier_closures_per_year: float = 0.7  # at most one a run: a listed supplier closes for good
    recalls_per_year: float = 1.0
    recall_refund_days: int = 7  # customers who bought the recalled product this many days back are refunded
    rushes_per_year: float = 8.0
    price_shocks_per_year: float = 2.0
    sim: sim_world.World = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "sim", self._sim_world())

    def _sim_world(self) -> sim_world.World:
        """The simulator's world with this catalogue: what `draw_scenarios` reads for demand, weather and outages."""
        slot_products = tuple(product for _code, product, _capacity, _units in self.slots)
        return sim_world.World(
            products=tuple(
                sim_world.Product(
                    p.name,
                    p.reference_price_yen,
                    p.unit_cost_yen,
                    p.base_demand,
                    p.elasticity,
                    p.temperature_sensitivity,
                )
                for p in self.products
            ),
            suppliers=tuple(
                sim_world.Supplier(
                    s.name,
                    1000,
                    lead_days=s.lead_days,
                    min_order_units=1,
                    short_ship_probability=s.short_ship_probability,
                    outages_per_year=s.outages_per_year,
                )
                for s in self.suppliers
            ),
            slot_count=len(slot_products),
            initial_slot_products=slot_products,
            weekday_factors=self.weekday_factors,
            start_weekday=START_DATE.weekday(),
        )

    def sku_index(self, sku) -> int | None:
        return self._sku_index.get(sku) if isinstance(sku, str) else None

    @cached_property
    def _sku_index(self) -> dict[str, int]:
        return {product.sku: number for number, product in enumerate(self.products)}

    @cached_property
    def fair_cost_yen(self) -> list[int]:
        """Per product, the lowest price any supplier lists for it (the catalogue's cost if none lists it)."""
        return [
            min((s.prices_yen[p] for s in self.suppliers if p in s.prices_yen and not s.email_only), default=cost)
            for p, cost in enumerate(product.unit_cost_yen for product in self.products)
        ]

    def fees_due(self, day: int) -> int:
        """The machine fees due on this day of the run, in yen (a fee due on the 31st falls on each month's last
        day)."""
        date = START_DATE + datetime.timedelta(days=day)
        last = calendar.monthrange(date.year, date.month)[1]
        return sum(fee.amount_yen for fee in self.machine_fees if min(fee.due_day, last) == date.day)


def demo_world(**overrides) -> ArenaWorld:
    """The demo shop `HQ-1F` as an arena world: its catalogue, slots, back room, fees and suppliers from
    `fixtures/demo/`, plus the two e-mail-only suppliers."""
    products = _demo_products()
    slots, fees, back_room = _demo_machine(products)
    return ArenaWorld(
        products=products,
        suppliers=_demo_suppliers(products) + _email_suppliers(products),
        slots=slots,
        machine_fees=fees,
        opening_back_room=back_room,
        weekday_factors=tuple(demo_fixture("history")["weekday_factors"]),
        **overrides,
    )
