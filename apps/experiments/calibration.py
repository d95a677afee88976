"""Fit the simulator's demand to this shop's sales, and build the "twin" World from the fitted parameters.

Model (the simulator's own): units of product p on day d ~ Poisson(b_p · w_weekday(d) · exp(-e_p · (price/ref_p - 1))).
- weekday factors w: mean daily units on each weekday over the mean of the seven, from all products together;
- base demand b_p: units a day at the reference price (the product's most common selling price) on an average weekday;
- elasticity e_p: by Poisson maximum likelihood (Newton's method on log b and e) when the product sold at two or more
  prices, each on at least MIN_DAYS_PER_PRICE days; otherwise the simulator's default.
Days with no sale of a product count as zero units for it from the shop's first sale day to its last, so a product is
assumed on sale the whole time (the shop's records do not say when a slot was empty).
"""

from dataclasses import dataclass

import numpy as np

from apps.experiments.sim.world import PRICE_STEP_YEN, Product, World

DEFAULT_ELASTICITY = 1.8
MIN_DAYS_PER_PRICE = 7
NEWTON_STEPS = 50


@dataclass(frozen=True)
class ProductSales:
    name: str
    unit_cost_yen: int
    units: np.ndarray  # (days,) units sold each day
    price_yen: np.ndarray  # (days,) the price that day


def _weekday_factors(total_units: np.ndarray, weekdays: np.ndarray) -> list[float]:
    means = np.array([total_units[weekdays == k].mean() if (weekdays == k).any() else np.nan for k in range(7)])
    overall = np.nanmean(means)
    if not overall > 0:
        return [1.0] * 7
    return [round(float(m / overall), 4) if np.isfinite(m) else 1.0 for m in means]


def _poisson_fit(units: np.ndarray, exposure: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Maximise sum(y·(a - e·x) - exposure·exp(a - e·x)) over (a, e); returns (exp(a), e)."""
    a, e = np.log(max(units.mean(), 1e-3) / exposure.mean()), 0.0
    for _step in range(NEWTON_STEPS):
        mu = exposure * np.exp(a - e * x)
        residual = units - mu
        gradient = np.array([residual.sum(), -(residual * x).sum()])
        hessian = np.array([[mu.sum(), -(mu * x).sum()], [-(mu * x).sum(), (mu * x * x).sum()]])
        step = np.linalg.solve(hessian, gradient)
        a, e = a + step[0], e + step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(np.exp(a)), float(e)


def fit_demand(*, products: list[ProductSales], first_weekday: int) -> dict:
    """The fitted parameters as plain JSON-ready data (what `Calibration.parameters` stores)."""
    days = len(products[0].units)
    weekdays = (first_weekday + np.arange(days)) % 7
    weekday_factors = _weekday_factors(sum(p.units for p in products), weekdays)
    factor_per_day = np.asarray(weekday_factors)[weekdays]
    fitted = []
    for sales in products:
        prices, counts = np.unique(sales.price_yen, return_counts=True)
        reference = int(prices[np.argmax(counts)])
        varied = (counts >= MIN_DAYS_PER_PRICE).sum() >= 2
        if varied:
            base, elasticity = _poisson_fit(sales.units, factor_per_day, sales.price_yen / reference - 1.0)
        else:
            base, elasticity = float((sales.units / factor_per_day).mean()), DEFAULT_ELASTICITY
        fitted.append(
            {
                "name": sales.name,
                "reference_price_yen": reference,
                "unit_cost_yen": sales.unit_cost_yen,
                "base_demand": round(base, 4),
                "elasticity": round(elasticity, 4),
                "elasticity_fitted": bool(varied),
            }
        )
    return {"days": days, "weekday_factors": weekday_factors, "products": fitted}


def world_from_parameters(parameters: dict) -> World:
    """The simulator's default shop (suppliers, fees, slots, weather) selling this shop's products at its demand."""
    default = World()
    products = tuple(
        Product(
            name=p["name"],
            reference_price_yen=max(PRICE_STEP_YEN, round(p["reference_price_yen"] / PRICE_STEP_YEN) * PRICE_STEP_YEN),
            base_cost_yen=max(1, p["unit_cost_yen"]),
            base_demand=p["base_demand"],
            elasticity=max(p["elasticity"], 0.1),  # a fitted elasticity near zero or below would make gouging pay
            temperature_sensitivity=0.0,
        )
        for p in parameters["products"]
    )
    return World(
        products=products,
        weekday_factors=tuple(parameters["weekday_factors"]),
        # The fitted base demand already holds the season it was observed in.
        month_factors=(1.0,) * 12,
        initial_slot_products=tuple(slot % len(products) for slot in range(default.slot_count)),
    )
