"""Reads of the Manager dashboard and the monitoring jobs. Aggregation happens in the database: a snapshot costs the same
number of queries whatever the number of sales, slots or turns."""

import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractHour, TruncDate, TruncHour, TruncMonth, TruncWeek
from django.utils import timezone

from apps.accounting.selectors.cash_flow import cash_balance, cash_flow_statement
from apps.agents.models import Agent, AgentTurn, Case
from apps.chats.models import Conversation, LineEvent, Rating
from apps.core.clock import local_day_start
from apps.core.money import whole_yen
from apps.dashboard.models import Alert
from apps.inventory.models import (
    Machine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    ReconciliationReport,
    Sale,
    SaleLine,
    Slot,
    StockMovement,
    Stocktake,
    StocktakeLine,
    StorageStock,
)

# Offline answers the shop chose (no key, budget spent, a customer's limits) are not errors; any other fallback
# reason in the decision log is the model failing (error, deadline, broken stream, open breaker).
CHOSEN_FALLBACKS = ("no_api_key", "budget", "customer_rate_limit", "customer_token_limit")
MODEL_FAILED = ~Q(fallback_reason="") & ~reduce(or_, [Q(fallback_reason__startswith=r) for r in CHOSEN_FALLBACKS])
RECENT_SALES = 10
ALERTS_SHOWN = 20


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end of a local (JST) calendar day as aware datetimes."""
    start = local_day_start(day)
    return start, start + datetime.timedelta(days=1)


def sales_totals(*, start: datetime.datetime, end: datetime.datetime) -> dict:
    """Revenue after refunds, transactions (fully refunded ones excluded), average basket and gross margin (revenue
    after refunds minus the cost of goods of the sales not fully refunded)."""
    not_refunded = ~Q(status=Sale.Status.REFUNDED)
    totals = Sale.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        gross=Coalesce(Sum("total_yen"), 0),
        refunded=Coalesce(Sum("refunded_yen"), 0),
        transactions=Count("id", filter=not_refunded),
        cost=Coalesce(Sum("cost_yen", filter=not_refunded), 0),
    )
    revenue = totals["gross"] - totals["refunded"]
    margin = revenue - totals["cost"]
    return {
        "revenue_yen": revenue,
        "refunds_yen": totals["refunded"],
        "transactions": totals["transactions"],
        "average_basket_yen": revenue // totals["transactions"] if totals["transactions"] else 0,
        "gross_margin_yen": margin,
        "gross_margin_pct": round(100 * margin / revenue, 1) if revenue else None,
    }


def stock_state() -> dict:
    """Low and empty slots, and the stock's value at moving-average cost (slots plus back room)."""
    loaded = Q(product__isnull=False)
    slots = Slot.objects.aggregate(
        out=Count("id", filter=loaded & Q(quantity=0)),
        low=Count("id", filter=loaded & Q(quantity__gt=0, quantity__lt=F("par_level"))),
        value=Coalesce(Sum(F("quantity") * F("product__unit_cost_yen")), 0),
    )
    storage = StorageStock.objects.aggregate(value=Coalesce(Sum(F("quantity") * F("product__unit_cost_yen")), 0))
    return {
        "out_of_stock_slots": slots["out"],
        "low_stock_slots": slots["low"],
        "inventory_value_yen": slots["value"] + storage["value"],
    }


def ai_usage(*, start: datetime.datetime, end: datetime.datetime) -> dict:
    """Turns, tokens, cost (from the decision log's per-turn cost), p95 reply latency and error rate of every agent
    in [start, end). The error rate is the share of turns the model failed and the offline provider answered."""
    turns = AgentTurn.objects.filter(created_at__gte=start, created_at__lt=end)
    totals = turns.aggregate(
        turns=Count("id"),
        failures=Count("id", filter=MODEL_FAILED),
        input=Coalesce(Sum("input_tokens"), 0),
        output=Coalesce(Sum("output_tokens"), 0),
        cost=Sum("cost_yen"),
    )
    p95_ms = None
    if totals["turns"]:
        # Nearest-rank percentile: one row fetched at an offset, so no database-specific percentile function.
        rank = -(-95 * totals["turns"] // 100) - 1
        p95_ms = turns.order_by("latency_ms").values_list("latency_ms", flat=True)[rank]
    return {
        "turns": totals["turns"],
        "tokens": totals["input"] + totals["output"],
        "cost_yen": whole_yen(totals["cost"]),
        "reply_p95_ms": p95_ms,
        "failures": totals["failures"],
        "error_rate": round(totals["failures"] / totals["turns"], 3) if totals["turns"] else 0.0,
    }


def pending_approvals_count() -> int:
    """Purchase orders waiting for a person's approval."""
    return PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL).count()


def customer_care(*, now: datetime.datetime, days: int = 30) -> dict:
    """Cases waiting for a staff answer (and those past their SLA), and the median minutes from a case to its first
    answer over the last `days` days (None before any answer)."""
    open_cases = Case.objects.filter(status=Case.Status.OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(sla_due_at__lt=now))
    )
    answered = sorted(
        (answered_at - created_at).total_seconds() / 60
        for created_at, answered_at in Case.objects.filter(
            first_answered_at__isnull=False, created_at__gte=now - datetime.timedelta(days=days)
        ).values_list("created_at", "first_answered_at")
    )
    median = None
    if answered:
        middle = len(answered) // 2
        median = answered[middle] if len(answered) % 2 else (answered[middle - 1] + answered[middle]) / 2
    return {
        "open_cases": open_cases["open"],
        "overdue_cases": open_cases["overdue"],
        "first_answer_minutes": None if median is None else round(median),
    }


def satisfaction(*, last_day: datetime.date, days: int = 14, worst: int = 5) -> dict:
    """The customers' ratings: share of good ones per day (`days` days to `last_day`) and per persona over the same
    days, and the latest badly rated answers to review (the answer, the comment, the persona, the turn)."""
    start, _ = day_bounds(last_day - datetime.timedelta(days=days - 1))
    _, end = day_bounds(last_day)
    ratings = Rating.objects.filter(created_at__gte=start, created_at__lt=end)
    good = Count("id", filter=Q(score__gt=0))
    by_day = {
        row["day"]: row
        for row in ratings.annotate(day=TruncDate("created_at")).values("day").annotate(count=Count("id"), good=good)
    }
    by_persona = ratings.values("persona__name").annotate(count=Count("id"), good=good).order_by("persona__name")
    worst_rows = (
        ratings.filter(score__lt=0, subject=Rating.Subject.ANSWER)
        .select_related("message", "persona")
        .order_by("-created_at", "-id")[:worst]
    )
    return {
        "by_day": [
            _share(day.isoformat(), by_day.get(day))
            for day in (last_day - datetime.timedelta(days=offset) for offset in range(days - 1, -1, -1))
        ],
        "by_persona": [_share(row["persona__name"] or "-", row) for row in by_persona],
        "worst_answers": [
            {
                "id": rating.pk,
                "created_at": timezone.localtime(rating.created_at).isoformat(),
                "persona": rating.persona.name if rating.persona else "-",
                "answer": rating.message.text[:300] if rating.message else "",
                "comment": rating.comment[:300],
                "turn": rating.turn_id,
            }
            for rating in worst_rows
        ],
    }


def _share(label: str, row: dict | None) -> dict:
    count = row["count"] if row else 0
    return {"label": label, "ratings": count, "good_pct": round(100 * row["good"] / count) if count else None}


def payment_mismatches() -> int | None:
    """The mismatch count of the latest daily reconciliation of phone payments (None before the first one)."""
    return ReconciliationReport.objects.order_by("-day").values_list("mismatch_count", flat=True).first()


def cash_position(*, today: datetime.date) -> dict:
    """Cash on hand (現金 + 普通預金, from the books) and the net cash flow of the last 30 days, today included."""
    flow = cash_flow_statement(date_from=today - datetime.timedelta(days=29), date_to=today).totals
    return {"cash_on_hand_yen": cash_balance(as_of=today), "net_cash_flow_30d_yen": flow["net_change"]}


def active_conversations_count(*, now: datetime.datetime) -> int:
    since = now - datetime.timedelta(minutes=settings.DASHBOARD_ACTIVE_CONVERSATION_MINUTES)
    return Conversation.objects.filter(last_activity_at__gte=since).count()


def hourly_sales(*, day: datetime.date) -> dict:
    """Revenue per hour (0–23) of `day` and of the same weekday a week earlier, in one grouped query."""
    week_ago = day - datetime.timedelta(days=7)
    today_start, today_end = day_bounds(day)
    last_start, last_end = day_bounds(week_ago)
    rows = (
        Sale.objects.filter(
            Q(created_at__gte=today_start, created_at__lt=today_end)
            | Q(created_at__gte=last_start, created_at__lt=last_end)
        )
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(revenue=Sum(F("total_yen") - F("refunded_yen")))
    )
    series = {"today": [0] * 24, "last_week": [0] * 24}
    for row in rows:
        local = timezone.localtime(row["hour"])
        series["today" if local.date() == day else "last_week"][local.hour] += row["revenue"]
    return series


def _per_day(rows: QuerySet, *, last_day: datetime.date, days: int, **aggregates) -> list[tuple[datetime.date, dict]]:
    """(date, aggregates) for each of the `days` days ending on `last_day`, in one grouped query; a day without rows
    gets None for every aggregate."""
    first_day = last_day - datetime.timedelta(days=days - 1)
    start, _ = day_bounds(first_day)
    _, end = day_bounds(last_day)
    grouped = (
        rows.filter(created_at__gte=start, created_at__lt=end)
        .annotate(date=TruncDate("created_at"))
        .values("date")
        .annotate(**aggregates)
    )
    by_date = {row["date"]: row for row in grouped}
    empty = dict.fromkeys(aggregates)
    dates = [first_day + datetime.timedelta(days=offset) for offset in range(days)]
    return [(date, by_date.get(date, empty)) for date in dates]


def daily_revenue(*, last_day: datetime.date, days: int) -> list[dict]:
    """[{"date", "revenue_yen", "gross_margin_yen"}] for each of the `days` days ending on `last_day` (zeros kept)."""
    days_rows = _per_day(
        Sale.objects.all(),
        last_day=last_day,
        days=days,
        revenue=Sum(F("total_yen") - F("refunded_yen")),
        cost=Sum("cost_yen", filter=~Q(status=Sale.Status.REFUNDED)),
    )
    return [
        {
            "date": date.isoformat(),
            "revenue_yen": row["revenue"] or 0,
            "gross_margin_yen": (row["revenue"] or 0) - (row["cost"] or 0),
        }
        for date, row in days_rows
    ]


def slot_stock() -> list[dict]:
    rows = Slot.objects.values(
        "machine__code", "code", "quantity", "capacity", "par_level", "product__name_ja"
    ).order_by("machine__code", "code")
    return [
        {
            "slot": f"{row['machine__code']}/{row['code']}",
            "product": row["product__name_ja"] or "",
            "quantity": row["quantity"],
            "capacity": row["capacity"],
            "par_level": row["par_level"],
        }
        for row in rows
    ]


def daily_ai_usage(*, last_day: datetime.date, days: int) -> list[dict]:
    """[{"date", "turns", "cost_yen", "average_latency_ms"}] for each of the `days` days ending on `last_day`."""
    days_rows = _per_day(
        AgentTurn.objects.all(),
        last_day=last_day,
        days=days,
        turns=Count("id"),
        cost=Sum("cost_yen"),
        latency=Sum("latency_ms"),
    )
    return [
        {
            "date": date.isoformat(),
            "turns": row["turns"] or 0,
            "cost_yen": whole_yen(row["cost"]),
            "average_latency_ms": row["latency"] // row["turns"] if row["turns"] else 0,
        }
        for date, row in days_rows
    ]


def recent_sales(*, limit: int = RECENT_SALES) -> list[dict]:
    sales = Sale.objects.select_related("machine").order_by("-created_at", "-id")[:limit]
    return [sale_event_data(sale) for sale in sales]


def sale_event_data(sale: Sale) -> dict:
    """How a sale appears in the dashboard's list (and in the live event that announces it)."""
    return {
        "id": sale.pk,
        "machine": sale.machine.code,
        "total_yen": sale.total_yen,
        "status": sale.status,
        "created_at": timezone.localtime(sale.created_at).isoformat(),
    }


def alert_event_data(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": str(alert.get_kind_display()),
        "severity": alert.severity,
        "subject": alert.subject,
        "message": alert.message,
        "state": alert.state,
        "state_label": str(alert.get_state_display()),
        "first_seen_at": timezone.localtime(alert.first_seen_at).isoformat(),
        "fired_at": timezone.localtime(alert.fired_at).isoformat() if alert.fired_at else None,
        "cleared_at": timezone.localtime(alert.cleared_at).isoformat() if alert.cleared_at else None,
    }


def alerts_for_dashboard(*, now: datetime.datetime, limit: int = ALERTS_SHOWN) -> list[dict]:
    """Open alerts first (firing, then pending), then those cleared in the last 24 hours."""
    recent = Q(state__in=[Alert.State.PENDING, Alert.State.FIRING]) | Q(
        cleared_at__gte=now - datetime.timedelta(days=1)
    )
    alerts = sorted(
        Alert.objects.filter(recent).order_by("-first_seen_at", "-id")[:limit],
        key=lambda alert: [Alert.State.FIRING, Alert.State.PENDING, Alert.State.CLEARED].index(alert.state),
    )
    return [alert_event_data(alert) for alert in alerts]


def dashboard_snapshot(*, now: datetime.datetime | None = None) -> dict:
    """Everything the dashboard page shows: cards, chart series, alerts and the latest sales."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    start, end = day_bounds(today)
    return {
        "generated_at": timezone.localtime(now).isoformat(),
        "cards": {
            **sales_totals(start=start, end=end),
            **stock_state(),
            "active_conversations": active_conversations_count(now=now),
            "ai": ai_usage(start=start, end=end),
            "pending_approvals": pending_approvals_count(),
            "care": customer_care(now=now),
            "payment_mismatches": payment_mismatches(),
            **cash_position(today=today),
        },
        "hourly_sales": hourly_sales(day=today),
        "daily_revenue": daily_revenue(last_day=today, days=30),
        "slot_stock": slot_stock(),
        "daily_ai": daily_ai_usage(last_day=today, days=14),
        "alerts": alerts_for_dashboard(now=now),
        "recent_sales": recent_sales(),
        "satisfaction": satisfaction(last_day=today),
    }


# --- what the anomaly rules read -----------------------------------------------------------------------------------


def hour_revenue_history(*, hour_start: datetime.datetime, days: int) -> tuple[int, list[int]]:
    """Revenue of the hour starting at `hour_start`, and of the same hour on each of the `days` days before it."""
    first = hour_start - datetime.timedelta(days=days)
    hour = timezone.localtime(hour_start).hour
    rows = (
        Sale.objects.filter(created_at__gte=first, created_at__lt=hour_start + datetime.timedelta(hours=1))
        .annotate(hour=ExtractHour("created_at"), date=TruncDate("created_at"))
        .filter(hour=hour)
        .values("date")
        .annotate(revenue=Sum(F("total_yen") - F("refunded_yen")))
    )
    by_date = {row["date"]: row["revenue"] for row in rows}
    day = timezone.localdate(hour_start)
    history = [by_date.get(day - datetime.timedelta(days=offset), 0) for offset in range(1, days + 1)]
    return by_date.get(day, 0), history


def silent_machines(*, since: datetime.datetime) -> list[dict]:
    """Active machines that have reported before but not since `since` (a machine never switched on is not silent)."""
    return list(
        Machine.objects.filter(status=Machine.Status.ACTIVE, last_heartbeat_at__lt=since)
        .values("code", "last_heartbeat_at")
        .order_by("code")
    )


def agent_spend(*, start: datetime.datetime) -> list[dict]:
    """Each agent's model cost since `start` and its daily yen budget."""
    rows = Agent.objects.annotate(cost=Sum("turns__cost_yen", filter=Q(turns__created_at__gte=start))).values(
        "name", "daily_yen_budget", "cost"
    )
    return [
        {"agent": row["name"], "budget_yen": row["daily_yen_budget"], "cost_yen": whole_yen(row["cost"])}
        for row in rows
    ]


def product_run_rates(*, since: datetime.datetime) -> list[dict]:
    """Active products with units on hand (slots plus back room), units on order (approved or ordered, not yet
    received), units sold (net of refunds) since `since`, and the shortest lead time of an active supplier that
    offers them (None when no supplier does)."""
    sold = (
        SaleLine.objects.filter(product=OuterRef("pk"), sale__created_at__gte=since)
        .values("product")
        .annotate(units=Sum(F("quantity") - F("refunded_quantity")))
        .values("units")
    )
    in_slots = Slot.objects.filter(product=OuterRef("pk")).values("product").annotate(q=Sum("quantity")).values("q")
    on_order = (
        PurchaseOrderLine.objects.filter(
            product=OuterRef("pk"),
            order__status__in=[
                PurchaseOrder.Status.APPROVED,
                PurchaseOrder.Status.ORDERED,
                PurchaseOrder.Status.PARTIALLY_RECEIVED,
            ],
        )
        .values("product")
        .annotate(q=Sum(F("quantity") - F("received_quantity")))
        .values("q")
    )
    return list(
        Product.objects.filter(active=True)
        .annotate(
            sold=Coalesce(Subquery(sold), 0),
            in_slots=Coalesce(Subquery(in_slots), 0),
            on_order=Coalesce(Subquery(on_order), 0),
            in_storage=Coalesce(Max("storage__quantity"), 0),
            lead_time_days=Min("offers__supplier__lead_time_days", filter=Q(offers__supplier__active=True)),
        )
        .values("sku", "name_ja", "sold", "in_slots", "in_storage", "on_order", "lead_time_days")
        .order_by("sku")
    )


def line_events_unfinished() -> dict[str, int]:
    """LINE events by the step they reached, every step but done (0 where none): what /metrics shows."""
    counts = dict(
        LineEvent.objects.exclude(status=LineEvent.Status.DONE)
        .values("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    return {status: counts.get(status, 0) for status in LineEvent.Status.values if status != LineEvent.Status.DONE}


# --- fresh food and counting: waste, shrinkage, expiry ---------------------------------------------------------------


def waste_by_product_week(*, today: datetime.date, weeks: int = 8) -> dict:
    """Units written off as waste per product and week (Monday first) over the last `weeks` weeks, and their value at
    today's moving-average cost (the books hold the exact 商品廃棄損): {"weeks": [date], "rows": [{"sku", "name",
    "units": [per week], "value_yen"}]}, most wasted first."""
    first_monday = today - datetime.timedelta(days=today.weekday() + 7 * (weeks - 1))
    rows = (
        StockMovement.objects.filter(kind=StockMovement.Kind.WASTE, created_at__gte=local_day_start(first_monday))
        .annotate(week=TruncWeek("created_at"))
        .values("week", "product__sku", "product__name_ja", "product__unit_cost_yen")
        .annotate(units=Sum("quantity_delta"))
    )
    week_starts = [first_monday + datetime.timedelta(weeks=i) for i in range(weeks)]
    products: dict[str, dict] = {}
    for row in rows:
        product = products.setdefault(
            row["product__sku"],
            {"sku": row["product__sku"], "name": row["product__name_ja"], "units": [0] * weeks, "value_yen": 0},
        )
        week = timezone.localtime(row["week"]).date() if isinstance(row["week"], datetime.datetime) else row["week"]
        product["units"][week_starts.index(week)] -= row["units"]
        product["value_yen"] -= row["units"] * row["product__unit_cost_yen"]
    ordered = sorted(products.values(), key=lambda product: (-product["value_yen"], product["sku"]))
    return {"weeks": week_starts, "rows": ordered}


def shrinkage_by_machine_month(*, today: datetime.date, months: int = 6) -> list[dict]:
    """Stocktake losses per machine (and the back room) and month, at cost, against the month's cost of goods sold:
    [{"place", "month", "loss_yen", "cogs_yen", "rate_percent"}], newest month first. The back room's rate is
    against the whole shop's cost of goods sold; a month without sales has no rate."""
    first = (today.replace(day=1) - datetime.timedelta(days=31 * (months - 1))).replace(day=1)
    losses = (
        StocktakeLine.objects.filter(
            stocktake__status=Stocktake.Status.APPROVED,
            stocktake__approved_at__gte=local_day_start(first),
            difference_cost_yen__isnull=False,
        )
        .annotate(month=TruncMonth("stocktake__approved_at"))
        .values("month", "stocktake__machine__code")
        .annotate(loss=Sum("difference_cost_yen"))
    )
    cogs_rows = (
        Sale.objects.exclude(status=Sale.Status.REFUNDED)
        .filter(created_at__gte=local_day_start(first))
        .annotate(month=TruncMonth("created_at"))
        .values("month", "machine__code")
        .annotate(cogs=Sum("cost_yen"))
    )
    cogs = {}
    for row in cogs_rows:
        month = _month_of(row["month"])
        cogs[(month, row["machine__code"])] = row["cogs"]
        cogs[(month, None)] = cogs.get((month, None), 0) + row["cogs"]
    result = []
    for row in losses:
        month, code = _month_of(row["month"]), row["stocktake__machine__code"]
        base = cogs.get((month, code), 0)
        loss = -row["loss"]
        result.append(
            {
                "place": code or "",
                "month": month,
                "loss_yen": loss,
                "cogs_yen": base,
                "rate_percent": round(loss * 100 / base, 1) if base else None,
            }
        )
    return sorted(result, key=lambda row: (-row["month"].toordinal(), row["place"]))


def _month_of(value) -> datetime.date:
    return (timezone.localtime(value).date() if isinstance(value, datetime.datetime) else value).replace(day=1)


def fresh_food_report(*, today: datetime.date) -> dict:
    """The dashboard's waste and shrinkage tables."""
    return {
        "waste": waste_by_product_week(today=today),
        "shrinkage": shrinkage_by_machine_month(today=today),
        "shrinkage_alert_percent": settings.SHRINKAGE_ALERT_PERCENT,
    }
