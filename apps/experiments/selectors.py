"""Reads: sales for calibration, experiment progress and comparison, A/B test results, arena runs."""

import gzip
import json
import math
from datetime import date, timedelta

import numpy as np
from django.db.models import F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.chats.models import Rating
from apps.core.errors import ValidationError
from apps.experiments.arena.run import ReplayedDay, replay_day
from apps.experiments.arena.world import demo_world
from apps.experiments.calibration import ProductSales
from apps.experiments.models import ABTest, ArenaRun, Experiment, Exposure, Run
from apps.experiments.stats import mean_interval, welch_test
from apps.inventory.models import PriceChange, Product, Sale, SaleLine

CONVERSION_WINDOW = timedelta(minutes=30)
CHART_SERIES = ("net_worth", "cash", "revenue")


# --- calibration ------------------------------------------------------------------------------------------------


def _price_on_each_day(product: Product, first: date, days: int, sold_at: dict[date, float]) -> np.ndarray:
    """The price a product was on sale at each day: its average selling price on days it sold, else the price set
    by the latest price change before that day (or its current price)."""
    changes = list(PriceChange.objects.filter(product=product).order_by("created_at", "id"))
    prices = np.empty(days)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day in sold_at:
            prices[offset] = sold_at[day]
            continue
        before = [c for c in changes if timezone.localtime(c.created_at).date() <= day]
        after = [c for c in changes if timezone.localtime(c.created_at).date() > day]
        prices[offset] = (
            before[-1].new_price_yen if before else (after[0].old_price_yen if after else product.price_yen)
        )
    return prices


def daily_product_sales() -> tuple[date | None, list[ProductSales]]:
    """Units and price per product per local day, from the shop's first sale day to its last (refunds taken off)."""
    sold = Sale.objects.exclude(status=Sale.Status.REFUNDED)
    span = sold.aggregate(first=Min("created_at"), last=Max("created_at"))
    if span["first"] is None:
        return None, []
    first = timezone.localtime(span["first"]).date()
    days = (timezone.localtime(span["last"]).date() - first).days + 1
    rows = (
        SaleLine.objects.filter(sale__in=sold)
        .annotate(day=TruncDate("sale__created_at", tzinfo=timezone.get_current_timezone()))
        .values("product_id", "day")
        .annotate(units=Sum(F("quantity") - F("refunded_quantity")), revenue=Sum("total_yen"), sold=Sum("quantity"))
        .order_by()
    )
    by_product: dict[int, dict[date, tuple[int, float]]] = {}
    for row in rows:
        by_product.setdefault(row["product_id"], {})[row["day"]] = (row["units"], row["revenue"] / row["sold"])
    products = Product.objects.in_bulk(list(by_product))
    result = []
    for product_id, per_day in sorted(by_product.items()):
        product = products[product_id]
        units = np.zeros(days, dtype=np.int64)
        for day, (count, _price) in per_day.items():
            units[(day - first).days] = count
        prices = _price_on_each_day(product, first, days, {day: price for day, (_c, price) in per_day.items()})
        result.append(ProductSales(product.name_ja, product.unit_cost_yen, units, prices))
    return first, result


# --- experiments ------------------------------------------------------------------------------------------------


def experiment_progress(*, experiment: Experiment) -> dict:
    runs = list(experiment.runs.values("id", "variant__name", "seed", "status", "days_done"))
    total = len(runs) * experiment.days
    return {
        "experiment": experiment.pk,
        "status": experiment.status,
        "days_done": sum(r["days_done"] for r in runs),
        "days_total": total,
        "percent": round(100 * sum(r["days_done"] for r in runs) / total, 1) if total else 0.0,
        "runs": [
            {
                "id": r["id"],
                "variant": r["variant__name"],
                "seed": r["seed"],
                "status": r["status"],
                "days_done": r["days_done"],
            }
            for r in runs
        ],
    }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _daily_interval(runs: list[Run], name: str) -> dict[str, list[float | None]]:
    """The 95% interval of the mean of one series on each day, across runs (None where fewer than two runs)."""
    intervals = [mean_interval(day) for day in zip(*(run.series[name] for run in runs), strict=True)]
    return {"low": [_finite(i.low) for i in intervals], "high": [_finite(i.high) for i in intervals]}


def experiment_comparison(*, experiment: Experiment) -> dict:
    """Per variant: final net worth mean with 95% CI, bankruptcies, mean daily series and the daily 95% band of net
    worth; each variant against the first one (the control) by Welch's t-test. Only finished runs count."""
    runs = Run.objects.filter(experiment=experiment, status=Run.Status.FINISHED).order_by("variant_id", "seed")
    by_variant: dict[int, list[Run]] = {}
    for run in runs.only("variant_id", "final_net_worth_yen", "bankrupt_day", "series"):
        by_variant.setdefault(run.variant_id, []).append(run)
    variants = []
    control = None
    for variant in experiment.variants.all():
        finished = by_variant.get(variant.pk, [])
        worth = [run.final_net_worth_yen for run in finished]
        row = {"id": variant.pk, "name": variant.name, "agent_kind": variant.agent_kind, "runs": len(finished)}
        if finished:
            interval = mean_interval(worth)
            row |= {
                "mean_net_worth_yen": round(interval.mean),
                "ci95_low_yen": _finite(interval.low),
                "ci95_high_yen": _finite(interval.high),
                "bankruptcies": sum(run.bankrupt_day is not None for run in finished),
                "mean_series": {
                    name: np.mean([run.series[name] for run in finished], axis=0).round().astype(int).tolist()
                    for name in CHART_SERIES
                },
                "net_worth_band": _daily_interval(finished, "net_worth"),
            }
            if control is None:
                control = (variant.name, worth)
            elif len(worth) >= 2 and len(control[1]) >= 2:
                test = welch_test(control[1], worth)
                row["versus_control"] = {
                    "control": control[0],
                    "difference_yen": round(test.difference),
                    "t": _finite(test.t),
                    "df": _finite(test.df),
                    "p_value": _finite(test.p_value),
                    "significant": test.significant,
                }
        variants.append(row)
    return {"experiment": experiment.pk, "days": experiment.days, "variants": variants}


# --- A/B tests --------------------------------------------------------------------------------------------------


def running_ab_test(*, channel: str, machine) -> ABTest | None:
    return (
        ABTest.objects.filter(status=ABTest.Status.RUNNING)
        .filter(Q(channel="") | Q(channel=channel), Q(machine__isnull=True) | Q(machine=machine))
        .prefetch_related("variants__persona")
        .first()
    )


def _outcomes(exposures: list[Exposure]) -> dict[int, tuple[bool, int]]:
    """Converted and revenue per exposure, with one query for all the sales that can matter.

    Known customer: their sales between the start of the chat and 30 minutes after its last message.
    Anonymous tablet chat: any sale on that machine in the same window (the tablet cannot tell who paid)."""
    if not exposures:
        return {}
    windows = {
        e.pk: (e.conversation.started_at, e.conversation.last_activity_at + CONVERSION_WINDOW) for e in exposures
    }
    sales = list(
        Sale.objects.filter(
            created_at__gte=min(w[0] for w in windows.values()), created_at__lte=max(w[1] for w in windows.values())
        )
        .exclude(status=Sale.Status.REFUNDED)
        .values("created_at", "customer_key", "machine_id", "total_yen", "refunded_yen")
    )
    result = {}
    for exposure in exposures:
        start, end = windows[exposure.pk]
        conversation = exposure.conversation
        revenue = sum(
            sale["total_yen"] - sale["refunded_yen"]
            for sale in sales
            if start <= sale["created_at"] <= end
            and (
                sale["customer_key"] == conversation.customer_key
                if conversation.customer_key
                else sale["machine_id"] == conversation.machine_id
            )
        )
        result[exposure.pk] = (revenue > 0, revenue)
    return result


def _ratings_by_variant(exposures: list[Exposure]) -> dict[int, list[float]]:
    """The customers' ratings (1 good, 0 bad) of answers and purchases in each variant's conversations (one query)."""
    variant_of = {exposure.conversation_id: exposure.variant_id for exposure in exposures}
    scores: dict[int, list[float]] = {}
    rows = Rating.objects.filter(conversation_id__in=variant_of).values_list("conversation_id", "score")
    for conversation_id, score in rows:
        scores.setdefault(variant_of[conversation_id], []).append(1.0 if score > 0 else 0.0)
    return scores


def ab_test_results(*, test: ABTest) -> dict:
    """Conversations, conversion rate and revenue per conversation per variant, and the share of good ratings
    (satisfaction) beside them; each variant against the first by Welch's t-test on revenue per conversation, on
    conversion (0/1) and on satisfaction (1/0 per rating)."""
    exposures = list(Exposure.objects.filter(test=test).select_related("conversation"))
    outcome_of = _outcomes(exposures)
    ratings = _ratings_by_variant(exposures)
    outcomes: dict[int, list[tuple[bool, int]]] = {}
    for exposure in exposures:
        outcomes.setdefault(exposure.variant_id, []).append(outcome_of[exposure.pk])
    rows, control = [], None
    for variant in test.variants.select_related("persona"):
        seen = outcomes.get(variant.pk, [])
        converted = [1.0 if c else 0.0 for c, _r in seen]
        revenue = [float(r) for _c, r in seen]
        row = {
            "id": variant.pk,
            "persona": variant.persona.name,
            "weight": variant.weight,
            "conversations": len(seen),
            "conversions": int(sum(converted)),
            "conversion_rate": round(sum(converted) / len(seen), 4) if seen else None,
            "revenue_yen": int(sum(revenue)),
            "revenue_per_conversation_yen": round(sum(revenue) / len(seen), 1) if seen else None,
            "ratings": len(rated := ratings.get(variant.pk, [])),
            "satisfaction": round(sum(rated) / len(rated), 4) if rated else None,
        }
        if control is None:
            control = (variant.persona.name, converted, revenue, rated)
        elif len(seen) >= 2 and len(control[1]) >= 2:
            by_revenue, by_conversion = welch_test(control[2], revenue), welch_test(control[1], converted)
            row["versus_control"] = {
                "control": control[0],
                "revenue_p_value": _finite(by_revenue.p_value),
                "conversion_p_value": _finite(by_conversion.p_value),
                "satisfaction_p_value": _finite(welch_test(control[3], rated).p_value)
                if len(rated) >= 2 and len(control[3]) >= 2
                else None,
                "significant": by_revenue.significant,
            }
        rows.append(row)
    return {"test": test.pk, "status": test.status, "variants": rows}


# --- the agent arena --------------------------------------------------------------------------------------------


def arena_run_trace(*, run: ArenaRun) -> dict | None:
    """The run's trace, unpacked (None when it was stored without one)."""
    return json.loads(gzip.decompress(bytes(run.trace))) if run.trace else None


def _arena_event_labels() -> dict[str, str]:
    return {
        "breakdown": _("故障"),
        "supplier_closed": _("仕入先の廃業"),
        "recall": _("リコール"),
        "rush": _("需要の急増"),
        "price_shock": _("仕入値の高騰"),
    }


def arena_run_chart(*, run: ArenaRun) -> dict:
    """What the run page draws: net worth, cash, the coin box and fresh food thrown away (at cost) per day, and each
    event (named) on its day. Runs stored before spoilage have no waste series: zeros."""
    net_worth = run.series.get("net_worth", [])
    labels = _arena_event_labels()
    return {
        "days": run.days,
        "net_worth": net_worth,
        "cash": run.series.get("cash", []),
        "coin_box": run.series.get("coin_box", []),
        "waste": run.series.get("waste", [0] * len(net_worth)),
        "waste_total_yen": sum(run.series.get("waste", [])),
        "events": [
            {
                **event,
                "label": labels.get(event["kind"], event["kind"]),
                "net_worth_yen": net_worth[event["day"]] if event["day"] < len(net_worth) else None,
            }
            for event in run.events
        ],
    }


def arena_run_replay(*, run: ArenaRun, day: int) -> ReplayedDay:
    """Replay the run up to `day` from its seed and trace; what the agent saw and did that day, and whether every
    answer up to then came out as recorded."""
    trace = arena_run_trace(run=run)
    if trace is None:
        raise ValidationError("This run was stored without a trace; it cannot be replayed.")
    return replay_day(world=demo_world(), trace=trace, day=day)
