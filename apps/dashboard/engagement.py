"""Engagement pushes on LINE: the rules every push obeys, and who gets which message.

A push goes only to a customer who consented and did not opt out, never between 21:00 and 09:00 in Tokyo, at most
ENGAGEMENT_WEEKLY_CAP (2) times in any 7 days per customer, and never past the LINE plan's monthly quota
(LINE_MONTHLY_PUSH_QUOTA, 200 by default; the month is the calendar month in Tokyo, as LINE counts it).
"""

import datetime
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.chats.models import CUSTOMER_KEY_PREFIX, Customer
from apps.dashboard.models import LinePush
from apps.inventory.models import Product, Sale, Slot
from apps.inventory.selectors import customer_favourites, products_arrived

TOKYO = ZoneInfo("Asia/Tokyo")
QUIET_FROM = datetime.time(21, 0)
QUIET_UNTIL = datetime.time(9, 0)


class Recipient(Protocol):
    """What the rules need to know about a customer; `apps.chats.models.Customer` is one."""

    pk: int
    consent_given: bool
    push_opt_out: bool


class PushSender(Protocol):
    """LINE's push (`apps.chats.integrations.line_api.LineMessenger`): False when the customer cannot be reached,
    raises when LINE fails."""

    def push(self, *, customer, messages: list) -> bool: ...


class Refusal(TextChoices):
    NO_CONSENT = "no_consent", gettext_lazy("配信に同意していないお客様です。")
    OPTED_OUT = "opted_out", gettext_lazy("配信停止を希望したお客様です。")
    QUIET_HOURS = "quiet_hours", gettext_lazy("21時から9時までは配信しません。")
    WEEKLY_CAP = "weekly_cap", gettext_lazy("このお客様への配信は7日間で上限に達しています。")
    MONTHLY_QUOTA = "monthly_quota", gettext_lazy("今月のLINE配信数が上限に達しています。")


def in_quiet_hours(now: datetime.datetime) -> bool:
    local = now.astimezone(TOKYO).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def month_start(now: datetime.datetime) -> datetime.datetime:
    return now.astimezone(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def pushes_counted() -> QuerySet[LinePush]:
    """Pushes that count toward the cap and the quota: every one not known to have failed."""
    return LinePush.objects.exclude(status=LinePush.Status.FAILED)


def monthly_quota_reached(*, now: datetime.datetime) -> bool:
    return pushes_counted().filter(created_at__gte=month_start(now)).count() >= settings.LINE_MONTHLY_PUSH_QUOTA


def push_refusal(*, recipient: Recipient, now: datetime.datetime) -> Refusal | None:
    """Why this customer may not get a push at `now`, or None when it may go."""
    if not recipient.consent_given:
        return Refusal.NO_CONSENT
    if recipient.push_opt_out:
        return Refusal.OPTED_OUT
    if in_quiet_hours(now):
        return Refusal.QUIET_HOURS
    recent = pushes_counted().filter(customer_id=recipient.pk, created_at__gt=now - datetime.timedelta(days=7))
    if recent.count() >= settings.ENGAGEMENT_WEEKLY_CAP:
        return Refusal.WEEKLY_CAP
    if monthly_quota_reached(now=now):
        return Refusal.MONTHLY_QUOTA
    return None


def coupon_budget_left_yen(*, now: datetime.datetime) -> int:
    """What is left this month of the loyalty coupons' budget, counting each coupon at its full value."""
    issued = pushes_counted().filter(kind=LinePush.Kind.LOYALTY_COUPON, created_at__gte=month_start(now)).count()
    return settings.ENGAGEMENT_MONTHLY_COUPON_BUDGET_YEN - issued * settings.ENGAGEMENT_COUPON_YEN


@dataclass(frozen=True)
class ManagerOnLine:
    """A manager's LINE account (ALERT_LINE_USER_IDS) in the shape LINE's push takes for a customer."""

    line_user_id: str
    push_opt_out: bool = False
    key: str = "manager"


@dataclass(frozen=True)
class Candidate:
    customer: Customer
    kind: str
    subject: str
    text: str  # for a loyalty coupon, a template with {code}


def _customer_sales(*, now: datetime.datetime) -> dict[str, dict]:
    month_ago = now - datetime.timedelta(days=30)
    rows = (
        Sale.objects.filter(customer_key__startswith=CUSTOMER_KEY_PREFIX)
        .values("customer_key")
        .annotate(last=Max("created_at"), recent=Count("id", filter=Q(created_at__gte=month_ago)))
    )
    return {row["customer_key"]: row for row in rows}


def _favourites(*, now: datetime.datetime) -> dict[str, int]:
    """{customer key: the product they bought most in ENGAGEMENT_FAVOURITE_DAYS}: the same selector that fills the
    assistant's recommendations for the customer (`inventory.selectors.customer_favourites`)."""
    since = now - datetime.timedelta(days=settings.ENGAGEMENT_FAVOURITE_DAYS)
    favourites = customer_favourites(since=since)
    return {key: product for key, product in favourites.items() if key.startswith(CUSTOMER_KEY_PREFIX)}


@dataclass
class _Shop:
    """What the candidate rules read, loaded once per run in a fixed number of queries."""

    now: datetime.datetime
    sales: dict[str, dict]
    favourites: dict[str, int]
    arrived: dict[int, datetime.datetime]
    new_products: list[Product]
    names: dict[int, str]
    sent: dict[tuple[int, str, str], datetime.datetime]
    coupons_left: int

    def last_sent(self, customer: Customer, kind: str, subject: str = "") -> datetime.datetime | None:
        return self.sent.get((customer.pk, kind, subject))


def _welcome(customer: Customer, shop: _Shop) -> Candidate | None:
    days = settings.ENGAGEMENT_WELCOME_DAYS
    step = sum(1 for (pk, kind, _subject) in shop.sent if pk == customer.pk and kind == LinePush.Kind.WELCOME)
    if customer.consent_at is None or step >= len(days):
        return None
    since_consent = shop.now - customer.consent_at
    if since_consent > datetime.timedelta(days=settings.ENGAGEMENT_WELCOME_WINDOW_DAYS):
        return None
    if since_consent < datetime.timedelta(days=days[step]):
        return None
    texts = [
        _("友だち追加ありがとうございます！自販機の商品はLINEからも注文できます。気軽に話しかけてください。"),
        _("VendBotです。気になる商品はありましたか？「おすすめ」と送ると今日のおすすめをお知らせします。"),
    ]
    return Candidate(customer, LinePush.Kind.WELCOME, str(step + 1), texts[min(step, len(texts) - 1)])


def _favourite_restocked(customer: Customer, shop: _Shop) -> Candidate | None:
    favourite = shop.favourites.get(customer.key)
    if favourite not in shop.arrived:
        return None
    last = shop.last_sent(customer, LinePush.Kind.FAVOURITE_RESTOCKED, str(favourite))
    if last is not None and last >= shop.arrived[favourite]:
        return None
    text = _("いつもの「{name}」が入荷しました。売り切れる前にどうぞ！").format(name=shop.names[favourite])
    return Candidate(customer, LinePush.Kind.FAVOURITE_RESTOCKED, str(favourite), text)


def _new_product(customer: Customer, shop: _Shop) -> Candidate | None:
    for product in shop.new_products:
        if shop.last_sent(customer, LinePush.Kind.NEW_PRODUCT, product.sku) is None:
            text = _("新商品「{name}」（¥{price:,}）が入りました。").format(
                name=product.name_ja, price=product.price_yen
            )
            return Candidate(customer, LinePush.Kind.NEW_PRODUCT, product.sku, text)
    return None


def _loyalty_coupon(customer: Customer, shop: _Shop) -> Candidate | None:
    if (
        shop.coupons_left <= 0
        or shop.sales.get(customer.key, {}).get("recent", 0) < settings.ENGAGEMENT_LOYAL_PURCHASES
    ):
        return None
    last = shop.last_sent(customer, LinePush.Kind.LOYALTY_COUPON)
    if last is not None and shop.now - last < datetime.timedelta(days=30):
        return None
    shop.coupons_left -= 1
    text = _("いつもありがとうございます！次のお買い物で使える{amount}円引きクーポンです: {{code}}").format(
        amount=settings.ENGAGEMENT_COUPON_YEN
    )
    return Candidate(customer, LinePush.Kind.LOYALTY_COUPON, "", text)


def _idle_nudge(customer: Customer, shop: _Shop) -> Candidate | None:
    last_visit = max(filter(None, [customer.last_seen_at, shop.sales.get(customer.key, {}).get("last")]))
    if shop.now - last_visit < datetime.timedelta(days=settings.ENGAGEMENT_IDLE_DAYS):
        return None
    nudged = shop.last_sent(customer, LinePush.Kind.IDLE_NUDGE)
    if nudged is not None and nudged >= last_visit:
        return None  # one nudge per quiet spell
    text = _("しばらくお見かけしませんね。自販機に新しい商品も入っています。お待ちしています！")
    return Candidate(customer, LinePush.Kind.IDLE_NUDGE, "", text)


# The most personal message first; a customer gets at most one per run.
RULES = [_welcome, _favourite_restocked, _new_product, _loyalty_coupon, _idle_nudge]


def engagement_candidates(*, now: datetime.datetime) -> list[Candidate]:
    """At most one message per consented, reachable customer: the welcome series after a consented follow, a
    favourite that just arrived, a new product, a coupon for a loyal customer (within the monthly coupon budget), one
    nudge after ENGAGEMENT_IDLE_DAYS without a visit. Each goes once per subject; `push_refusal` still decides
    whether it may go now."""
    customers = list(
        Customer.objects.filter(consent_given=True, push_opt_out=False, line_user_id__isnull=False).order_by("pk")
    )
    favourites = _favourites(now=now)
    new_products = list(
        Product.objects.filter(active=True)
        .annotate(first_seen=Min("movements__created_at"))
        .filter(
            Exists(Slot.objects.filter(product=OuterRef("pk"), quantity__gt=0)),
            first_seen__gte=now - datetime.timedelta(days=settings.ENGAGEMENT_NEW_PRODUCT_DAYS),
        )
        .order_by("-first_seen", "sku")
    )
    names = dict(Product.objects.filter(pk__in=favourites.values()).values_list("pk", "name_ja"))
    sent_rows = (
        pushes_counted()
        .filter(customer__in=customers)
        .values("customer_id", "kind", "subject")
        .annotate(last=Max("created_at"))
    )
    shop = _Shop(
        now=now,
        sales=_customer_sales(now=now),
        favourites=favourites,
        arrived=products_arrived(since=now - datetime.timedelta(days=1)),
        new_products=new_products,
        names=names,
        sent={(row["customer_id"], row["kind"], row["subject"]): row["last"] for row in sent_rows},
        coupons_left=coupon_budget_left_yen(now=now) // settings.ENGAGEMENT_COUPON_YEN,
    )
    candidates = []
    for customer in customers:
        candidate = next(filter(None, (rule(customer, shop) for rule in RULES)), None)
        if candidate is not None:
            candidates.append(candidate)
    return candidates
