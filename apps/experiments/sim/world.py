"""The simulated shop's fixed rules (`World`) and everything chance decides for one seed (`Scenario`).

Everything random is drawn here, once per seed, from its own `numpy.random.Generator(PCG64(seed))` and before the
first day runs. The engine then only does integer arithmetic and table look-ups on these arrays, so one seed gives the
same episode bit for bit whether it runs alone or inside a batch, and whatever the agent does.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

PRICE_STEP_YEN = 10  # vending machines take 10-yen coins at the smallest
MAX_PRICE_YEN = 10_000


@dataclass(frozen=True)
class Product:
    name: str
    reference_price_yen: int  # what customers expect to pay; demand is measured against it
    base_cost_yen: int  # an honest wholesaler's unit price before its markup factor
    base_demand: float  # units a day at the reference price, on an average day
    elasticity: float  # demand falls as exp(-elasticity * (price / reference - 1))
    temperature_sensitivity: float  # demand x exp(sensitivity * (temperature - 20°C) / 10)


@dataclass(frozen=True)
class Supplier:
    name: str
    price_factor_permille: int  # unit price = base cost x factor / 1000
    lead_days: int
    min_order_units: int
    short_ship_probability: float = 0.0  # an order that arrives short carries 50–90% of the units paid for
    hidden_fee_permille: int = 0  # a surcharge on the order value, taken from cash when the goods arrive
    price_creep_permille_per_week: int = 0  # unit prices rise by this much every 7 days
    no_delivery_probability: float = 0.0  # the order is paid for and never arrives
    outages_per_year: float = 1.5  # spells of 3–10 days in which the supplier takes no orders


def _default_products() -> tuple[Product, ...]:
    return (
        Product("緑茶 500ml", 160, 70, 6.0, 2.0, 0.25),
        Product("缶コーヒー", 140, 55, 5.0, 1.8, -0.15),
        Product("ミネラルウォーター", 120, 40, 5.0, 2.5, 0.35),
        Product("スポーツドリンク", 160, 65, 4.0, 2.2, 0.40),
        Product("コーラ", 170, 70, 4.0, 2.0, 0.30),
        Product("オレンジジュース", 150, 60, 3.0, 1.8, 0.10),
        Product("ホットココア", 150, 55, 2.5, 1.5, -0.40),
        Product("エナジードリンク", 230, 110, 2.0, 1.2, 0.0),
        Product("チョコバー", 130, 50, 3.0, 1.6, -0.10),
        Product("ポテトチップス", 150, 60, 2.5, 1.6, 0.0),
    )


def _default_suppliers() -> tuple[Supplier, ...]:
    return (
        Supplier("丸中商事", 1000, lead_days=3, min_order_units=24),
        Supplier("クイック便", 1200, lead_days=1, min_order_units=6),
        Supplier(
            "安売りドットコム",
            750,
            lead_days=2,
            min_order_units=12,
            short_ship_probability=0.5,
            hidden_fee_permille=150,
        ),
        Supplier(
            "格安ルート",
            800,
            lead_days=2,
            min_order_units=12,
            price_creep_permille_per_week=30,
            no_delivery_probability=0.3,
        ),
    )


@dataclass(frozen=True)
class World:
    """The rules every episode of an experiment shares; seeds only change what chance decides."""

    products: tuple[Product, ...] = field(default_factory=_default_products)
    suppliers: tuple[Supplier, ...] = field(default_factory=_default_suppliers)
    starting_cash_yen: int = 50_000
    daily_fee_yen: int = 1_500
    slot_count: int = 12
    slot_capacity_units: int = 12
    back_room_capacity_units: int = 400
    # Products 8 and 9 start outside the machine; customers who want them leave requests.
    initial_slot_products: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3)
    bankruptcy_after_unpaid_days: int = 10
    start_weekday: int = 0  # day 0 is a Monday
    start_day_of_year: int = 90  # day 0 is 1 April, the start of the business year
    weekday_factors: tuple[float, ...] = (1.1, 1.05, 1.05, 1.05, 1.15, 0.8, 0.7)  # an office-district machine
    month_factors: tuple[float, ...] = (0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 1.1, 0.95, 1.0, 1.0, 1.0, 0.9)
    rain_footfall_factor: float = 0.8
    demand_noise_sigma: float = 0.25
    demand_shocks_per_year: float = 3.0
    machine_offline_spells_per_year: float = 2.0
    # Days a fresh product keeps after delivery, per product (0: keeps); empty: nothing spoils. Only the episode
    # engine (`shop.py`) models spoilage: the batch engine refuses a world with fresh products.
    shelf_life_days: tuple[int, ...] = ()

    def __post_init__(self):
        if len(self.initial_slot_products) != self.slot_count:
            raise ValueError("initial_slot_products needs one product per slot")
        if self.shelf_life_days and len(self.shelf_life_days) != len(self.products):
            raise ValueError("shelf_life_days needs one number per product")
        if any(p.reference_price_yen % PRICE_STEP_YEN for p in self.products):
            raise ValueError(f"reference prices must be multiples of {PRICE_STEP_YEN} yen")

    @property
    def has_fresh_products(self) -> bool:
        return any(self.shelf_life_days)

    @property
    def max_lead_days(self) -> int:
        return max(s.lead_days for s in self.suppliers)

    @cached_property
    def supplier_terms(self) -> dict[str, np.ndarray]:
        """Per-supplier terms as arrays, for indexing by supplier in the daily loop."""
        return {
            name: np.array([getattr(s, name) for s in self.suppliers], dtype=np.int64)
            for name in (
                "lead_days",
                "min_order_units",
                "hidden_fee_permille",
                "price_factor_permille",
                "price_creep_permille_per_week",
            )
        }

    def supplier_price_list(self, days: int) -> np.ndarray:
        """(days, suppliers, products) unit prices in yen, creep included; the same for every seed."""
        week = (np.arange(days) // 7).astype(np.float64)
        base_cost = np.array([p.base_cost_yen for p in self.products], dtype=np.float64)
        factor = self.supplier_terms["price_factor_permille"] / 1000.0
        creep = (1.0 + self.supplier_terms["price_creep_permille_per_week"] / 1000.0)[None, :] ** week[:, None]
        return np.maximum(1, np.rint(base_cost * (factor * creep)[:, :, None])).astype(np.int64)

    def shared_supplier_prices(self, days: int) -> np.ndarray:
        """`supplier_price_list(days)` made once per world and horizon and shared by every seed's scenarios, so
        read-only."""
        return self._shared_supplier_prices(days)[0]

    def supplier_price_rows(self, days: int) -> list[list[list[int]]]:
        """The same prices as lists [day][supplier][product], shared by every seed's episode: nothing may change them."""
        return self._shared_supplier_prices(days)[1]

    def _shared_supplier_prices(self, days: int) -> tuple[np.ndarray, list[list[list[int]]]]:
        shared = self._supplier_prices_by_days.get(days)
        if shared is None:
            prices = self.supplier_price_list(days)
            prices.flags.writeable = False
            shared = self._supplier_prices_by_days[days] = (prices, prices.tolist())
        return shared

    @cached_property
    def _supplier_prices_by_days(self) -> dict[int, tuple[np.ndarray, list[list[list[int]]]]]:
        return {}

    @cached_property
    def price_response_rows(self) -> list[list[float]]:
        """`price_response_table()` as lists, made once per world: what one shop's day looks up."""
        return self.price_response_table().tolist()

    def reference_prices(self) -> np.ndarray:
        return np.array([p.reference_price_yen for p in self.products], dtype=np.int64)

    def price_response_table(self) -> np.ndarray:
        """Demand multiplier for every product at every allowed price, indexed [product, price // PRICE_STEP_YEN].

        A table rather than exp() in the daily loop: a look-up is the same bits in a batch of one or of a thousand.
        """
        prices = np.arange(0, MAX_PRICE_YEN + PRICE_STEP_YEN, PRICE_STEP_YEN, dtype=np.float64)
        reference = self.reference_prices().astype(np.float64)[:, None]
        elasticity = np.array([p.elasticity for p in self.products])[:, None]
        return np.exp(-elasticity * (prices[None, :] / reference - 1.0))


WEATHER_NAMES = ("晴れ", "曇り", "雨")


@dataclass(frozen=True)
class Scenarios:
    """What chance decides for each seed of a batch over the whole horizon; arrays are [seed, day, ...]."""

    seeds: tuple[int, ...]
    days: int
    demand_rate: np.ndarray  # (B, days, products) float: expected units at the reference price, 0 when offline
    rounding: np.ndarray  # (B, days, products) uniforms that turn an expected demand into whole customers
    machine_offline: np.ndarray  # (B, days) bool
    weather: np.ndarray  # (B, days) 0 sunny, 1 cloudy, 2 rain
    temperature: np.ndarray  # (B, days) °C
    supplier_available: np.ndarray  # (B, days, suppliers) bool
    ship_permille: np.ndarray  # (B, days, suppliers) int: share of the units paid for that an order placed then brings
    supplier_price: np.ndarray  # (days, suppliers, products) int yen per unit: list prices, the same for every seed


def _spell_mask(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Days covered by spells that begin where `starts` ([seed, day, ...]) is set and last `lengths` days."""
    mask = np.zeros(starts.shape, dtype=bool)
    for index in zip(*np.nonzero(starts), strict=True):
        row, start, *rest = index
        mask[(row, slice(start, start + lengths[index]), *rest)] = True
    return mask


def _start_and_spare(draw: np.ndarray, per_year: float) -> tuple[np.ndarray, np.ndarray]:
    """A spell starts on a day with probability per_year / 365. The uniform that says so, rescaled, is itself a fresh
    uniform on the days it does, and serves for the spell's length and kind, so rare events take no extra draws."""
    probability = np.asarray(per_year) / 365
    return draw < probability, draw / np.maximum(probability, 1e-12)  # with no spells, the spare goes unused


def _split(spare: np.ndarray, choices: int) -> tuple[np.ndarray, np.ndarray]:
    """An index in range(choices) from a uniform, and what is left of it as another uniform."""
    scaled = spare * choices
    index = np.minimum(np.floor(scaled), choices - 1)
    return index.astype(np.int64), scaled - index


def _seed_draws(seeds: tuple[int, ...], days: int, columns: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Uniform and normal draws, `columns` of each a day, from each seed's own generator: exactly two calls a seed."""
    uniforms = np.empty((len(seeds), days, columns[0]))
    normals = np.empty((len(seeds), days, columns[1]))
    for row, seed in enumerate(seeds):
        rng = np.random.Generator(np.random.PCG64(seed))
        rng.random(out=uniforms[row])
        rng.standard_normal(out=normals[row])
    return uniforms, normals


def _weather(weather_draw: np.ndarray, temperature_noise: np.ndarray, day_of_year: np.ndarray):
    """Weather (0 sun, 1 cloud, 2 rain) and temperature: more rain in the rainy season (June–July), warm summers and
    cold winters."""
    rain_probability = 0.2 + 0.2 * np.exp(-(((day_of_year - 175) / 20.0) ** 2))
    weather = np.where(weather_draw < rain_probability, 2, np.where(weather_draw < rain_probability + 0.3, 1, 0))
    seasonal_temperature = 16.0 + 10.0 * np.sin(2 * np.pi * (day_of_year - 105) / 365)
    temperature = seasonal_temperature + 2.5 * temperature_noise - 1.5 * (weather == 2)
    return weather, temperature


def _demand_rate(world: World, *, day: np.ndarray, day_of_year: np.ndarray, weather, temperature, demand_noise):
    """Expected units a day per product: base demand x weekday and month x rain's footfall x temperature x noise."""
    base = np.array([p.base_demand for p in world.products])
    sensitivity = np.array([p.temperature_sensitivity for p in world.products])
    calendar = (
        np.asarray(world.weekday_factors)[(world.start_weekday + day) % 7]
        * np.asarray(world.month_factors)[np.minimum(day_of_year * 12 // 365, 11)]
    )
    footfall = calendar * np.where(weather == 2, world.rain_footfall_factor, 1.0)
    sigma = world.demand_noise_sigma
    noise = np.exp(sigma * demand_noise - sigma * sigma / 2)
    return base * footfall[..., None] * np.exp(sensitivity * (temperature[..., None] - 20.0) / 10.0) * noise


def _shock(world: World, rate: np.ndarray, shock_draw: np.ndarray) -> None:
    """Demand shocks, in place: one product's demand x0.4 or x1.8 for 5–15 days."""
    shock_starts, spare = _start_and_spare(shock_draw, world.demand_shocks_per_year)
    extra_days, spare = _split(spare, 11)
    shocked_product, spare = _split(spare, len(world.products))
    factor = np.where(spare < 0.5, 0.4, 1.8)
    for row, start in zip(*np.nonzero(shock_starts), strict=True):
        end = start + 5 + extra_days[row, start]
        rate[row, start:end, shocked_product[row, start]] *= factor[row, start]


def _ship_permille(world: World, delivery_draw: np.ndarray) -> np.ndarray:
    """What share of an order each supplier delivers on each order day: one uniform decides, lost below p_lost,
    short below p_lost + p_short (and how short)."""
    p_lost = np.array([s.no_delivery_probability for s in world.suppliers])
    p_short = np.array([s.short_ship_probability for s in world.suppliers])
    short_share = 500 + _split((delivery_draw - p_lost) / np.maximum(p_short, 1e-12), 401)[0]
    return np.where(delivery_draw < p_lost, 0, np.where(delivery_draw < p_lost + p_short, short_share, 1000)).astype(
        np.int64
    )


def draw_scenarios(world: World, seeds: list[int] | tuple[int, ...], days: int) -> Scenarios:
    """Draw every seed's scenario from its own generator, then shape all of them together.

    Each seed makes exactly two generator calls of a fixed size, so its numbers are the same whether it is drawn alone
    or in a batch of a thousand; everything after that is element-wise array arithmetic.
    """
    seeds = tuple(int(seed) for seed in seeds)
    n_products, n_suppliers = len(world.products), len(world.suppliers)
    # Uniform columns: weather, rounding per product, delivery outcome per supplier, shock start, offline start,
    # outage start per supplier. Normal columns: temperature, demand noise per product.
    uniforms, normals = _seed_draws(seeds, days, (3 + n_products + 2 * n_suppliers, 1 + n_products))
    rounding = uniforms[..., 1 : 1 + n_products]
    # The per-supplier columns are copied out contiguous: the float steps below run several times faster on them.
    delivery_draw = np.ascontiguousarray(uniforms[..., 1 + n_products : 1 + n_products + n_suppliers])

    day = np.arange(days)
    day_of_year = (world.start_day_of_year + day) % 365
    weather, temperature = _weather(uniforms[..., 0], normals[..., 0], day_of_year)
    rate = _demand_rate(
        world, day=day, day_of_year=day_of_year, weather=weather, temperature=temperature, demand_noise=normals[..., 1:]
    )
    _shock(world, rate, uniforms[..., 1 + n_products + n_suppliers])

    offline_starts, spare = _start_and_spare(
        uniforms[..., 2 + n_products + n_suppliers], world.machine_offline_spells_per_year
    )
    machine_offline = _spell_mask(offline_starts, 1 + _split(spare, 3)[0])
    rate[machine_offline] = 0.0

    outage_rate = np.array([s.outages_per_year for s in world.suppliers])
    outage_draw = np.ascontiguousarray(uniforms[..., 3 + n_products + n_suppliers :])
    outage_starts, spare = _start_and_spare(outage_draw, outage_rate)
    supplier_available = ~_spell_mask(outage_starts, 3 + _split(spare, 8)[0])

    return Scenarios(
        seeds=seeds,
        days=days,
        demand_rate=rate,
        rounding=rounding,
        machine_offline=machine_offline,
        weather=weather,
        temperature=temperature,
        supplier_available=supplier_available,
        ship_permille=_ship_permille(world, delivery_draw),
        supplier_price=world.shared_supplier_prices(days),
    )


def fresh_food_world(**changes) -> World:
    """The default world with two fresh products, as onigiri and sandwiches are in a real office shop: their
    deliveries keep 3 days, and what is on hand at the end of its last day is thrown away (docs/experiments.md)."""
    products = (
        *_default_products()[:6],
        Product("おにぎり", 160, 80, 3.0, 1.5, 0.0),
        Product("サンドイッチ", 300, 170, 1.5, 1.5, 0.0),
        *_default_products()[8:],
    )
    return World(products=products, shelf_life_days=(0, 0, 0, 0, 0, 0, 3, 3, 0, 0), **changes)
