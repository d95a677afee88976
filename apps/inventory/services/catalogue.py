"""Catalogue writes: products, prices (behind the price guard), coupons, and customers' product requests."""

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.clock import local_day_start
from apps.core.errors import PermissionDenied, ValidationError
from apps.core.money import TaxRate
from apps.core.services import audit_record
from apps.inventory import allergens
from apps.inventory.models import Coupon, PriceChange, Product, ProductRequest, Sale, StorageStock
from apps.inventory.services.stock import acting_user, require_perm

PRICE_FLOOR_MARGIN_PERCENT = 10  # a price must be at least cost × 1.1
PRICE_MAX_DAILY_CHANGE_PERCENT = 30
PRODUCT_LABEL_FIELDS = {"allergens", "allergens_checked", "calories_kcal", "ingredients"}
PRODUCT_EDITABLE_FIELDS = {
    "name_ja",
    "name_en",
    "description",
    "category",
    "image",
    "tax_rate",
    "active",
    *PRODUCT_LABEL_FIELDS,
}


def _labels_checked(fields: dict) -> dict:
    """The food-label fields with allergens as known codes in the label's order; unknown names are refused."""
    if "allergens" in fields:
        unknown = sorted(set(fields["allergens"]) - set(allergens.ALL))
        if unknown:
            raise ValidationError(
                _("アレルゲン {names} は表示対象の品目ではありません。").format(names="、".join(unknown)),
                details={"field": "allergens", "unknown": unknown},
            )
        fields["allergens"] = [code for code in allergens.ALL if code in set(fields["allergens"])]
    return fields


@transaction.atomic
def product_create(
    *,
    sku: str,
    name_ja: str,
    category: str,
    price_yen: int,
    tax_rate: int = TaxRate.REDUCED,
    name_en: str = "",
    description: str = "",
    active: bool = True,
    image=None,
    **labels,
) -> Product:
    """A new product with empty back-room stock; its cost comes from its first receipt (`stock_receive`). `labels`
    are the food-label fields (`PRODUCT_LABEL_FIELDS`: allergens, whether they were checked, calories,
    ingredients)."""
    refused = set(labels) - PRODUCT_LABEL_FIELDS
    if refused:
        raise ValidationError(_("{fields} は商品の項目ではありません。").format(fields=", ".join(sorted(refused))))
    labels = _labels_checked(labels)
    sku = sku.strip().upper()
    if Product.objects.filter(sku=sku).exists():
        raise ValidationError(_("SKU {sku} はすでに登録されています。").format(sku=sku), details={"field": "sku"})
    if price_yen <= 0:
        raise ValidationError(_("価格は1円以上にしてください。"), details={"field": "price_yen"})
    product = Product.objects.create(
        sku=sku,
        name_ja=name_ja,
        name_en=name_en,
        description=description,
        category=category,
        price_yen=price_yen,
        tax_rate=tax_rate,
        active=active,
        image=image or "",
        **labels,
    )
    StorageStock.objects.create(product=product)
    return product


@transaction.atomic
def product_update(*, product: Product, **fields) -> Product:
    """Change descriptive fields; the price changes only through `price_change`, the cost only through receipts."""
    refused = set(fields) - PRODUCT_EDITABLE_FIELDS
    if refused:
        raise ValidationError(
            _("{fields} はここでは変更できません（価格は価格変更から）。").format(fields=", ".join(sorted(refused)))
        )
    fields = _labels_checked(fields)
    for name, value in fields.items():
        setattr(product, name, value)
    product.save(update_fields=list(fields))
    return product


@dataclass(frozen=True)
class PriceGuard:
    """What the guard says of a new price: `problems` is empty when it lets the price through."""

    problems: list[str]
    floor_yen: int
    day_base_yen: int


def _price_guard(product: Product, new_price_yen: int, *, markdown: bool = False) -> PriceGuard:
    """Why the guard would refuse the price: below cost × 1.1, or more than 30 % from the day's first price. A
    markdown of goods about to expire may go down to cost itself and further than 30 %."""
    if markdown:
        floor = product.unit_cost_yen
        problems = []
        if new_price_yen < floor:
            problems.append(_("原価{cost}円を下回る見切りです。").format(cost=floor))
        return PriceGuard(problems=problems, floor_yen=floor, day_base_yen=product.price_yen)
    floor = -(-product.unit_cost_yen * (100 + PRICE_FLOOR_MARGIN_PERCENT) // 100)
    first_today = product.price_changes.filter(created_at__gte=local_day_start()).order_by("created_at", "id").first()
    day_base = first_today.old_price_yen if first_today else product.price_yen
    problems = []
    if new_price_yen < floor:
        problems.append(
            _("原価{cost}円の1.1倍（{floor}円）を下回ります。").format(cost=product.unit_cost_yen, floor=floor)
        )
    if abs(new_price_yen - day_base) * 100 > day_base * PRICE_MAX_DAILY_CHANGE_PERCENT:
        problems.append(_("本日の当初価格{base}円から30%を超える変更です。").format(base=day_base))
    return PriceGuard(problems=problems, floor_yen=floor, day_base_yen=day_base)


def _require_guard_override(actor, *, override: bool, reason: str, guard: PriceGuard) -> None:
    if not override:
        raise ValidationError(
            " ".join(guard.problems) + _("マネージャーが理由を添えて承認すれば変更できます。"),
            details={"reason": "price_guard", "floor_yen": guard.floor_yen, "day_base_yen": guard.day_base_yen},
        )
    user = acting_user(actor)
    if user is None or not user.has_perm("core.override_price_guard"):
        raise PermissionDenied(_("価格ガードを解除できるのはマネージャーだけです。"))
    if not reason:
        raise ValidationError(_("価格ガードを解除するには理由が必要です。"), details={"field": "reason"})


@transaction.atomic
def price_change(
    *,
    product: Product,
    new_price_yen: int,
    actor=None,
    actor_label: str = "",
    reason: str = "",
    override: bool = False,
    markdown: bool = False,
) -> PriceChange:
    """Set a product's tax-inclusive price, keeping its history.

    The price guard refuses a price below cost × 1.1 and a move of more than 30% against the day's first price
    (`markdown=True`, for goods about to expire: below cost only), unless `override=True` by a user holding
    `core.override_price_guard` (Manager) with a reason. Agents (`actor_label=`, no user) can never override.
    Raises ValidationError or PermissionDenied.
    """
    require_perm(actor, "inventory.change_price", _("価格変更の権限がありません。"))
    product = Product.objects.select_for_update().get(pk=product.pk)
    if new_price_yen <= 0:
        raise ValidationError(_("価格は1円以上にしてください。"), details={"field": "new_price_yen"})
    if new_price_yen == product.price_yen:
        raise ValidationError(_("価格が変わっていません。"), details={"field": "new_price_yen"})
    guard = _price_guard(product, new_price_yen, markdown=markdown)
    problems = guard.problems
    reason = (reason or "").strip()
    if problems:
        _require_guard_override(actor, override=override, reason=reason, guard=guard)
    change = PriceChange.objects.create(
        product=product,
        old_price_yen=product.price_yen,
        new_price_yen=new_price_yen,
        actor=acting_user(actor),
        actor_label=actor_label,
        reason=reason,
        guard_overridden=bool(problems),
    )
    product.price_yen = new_price_yen
    product.save(update_fields=["price_yen"])
    audit_record(
        target=product,
        action="price.override" if problems else "price.change",
        actor=actor,
        actor_label=actor_label,
        from_state=str(change.old_price_yen),
        to_state=str(new_price_yen),
        reason=reason,
        data={"guard": [str(problem) for problem in problems]},
    )
    return change


@transaction.atomic
def coupon_issue(
    *,
    kind: str,
    value: int,
    code: str = "",
    valid_days: int | None = 30,
    max_uses: int | None = 1,
    max_uses_per_customer: int | None = None,
    actor=None,
    actor_label: str = "",
    note: str = "",
) -> Coupon:
    """Issue a coupon: `kind` "percent" (value 1–100) or "yen"; a code is generated ("VB-XXXXXX") when none is given.

    `valid_days=None` never expires; `max_uses=None` is unlimited. Per-customer limits count by the sale's
    customer_key. Agents pass `actor_label`; people need `inventory.add_coupon`.
    """
    require_perm(actor, "inventory.add_coupon", _("クーポン発行の権限がありません。"))
    if kind not in Coupon.Kind.values:
        raise ValidationError(_("クーポンの種類は percent か yen です。"), details={"field": "kind"})
    if value <= 0 or (kind == Coupon.Kind.PERCENT and value > 100):
        raise ValidationError(_("割引は1〜100%、または1円以上にしてください。"), details={"field": "value"})
    for limit_name, limit in (("max_uses", max_uses), ("max_uses_per_customer", max_uses_per_customer)):
        if limit is not None and limit <= 0:
            raise ValidationError(_("利用回数の上限は1以上にしてください。"), details={"field": limit_name})
    if valid_days is not None and valid_days <= 0:
        raise ValidationError(_("有効日数は1日以上にしてください。"), details={"field": "valid_days"})
    code = code.strip().upper() or f"VB-{secrets.token_hex(3).upper()}"
    if Coupon.objects.filter(code__iexact=code).exists():
        raise ValidationError(_("クーポンコード {code} はすでに使われています。").format(code=code))
    return Coupon.objects.create(
        code=code,
        kind=kind,
        value=value,
        valid_until=timezone.now() + timedelta(days=valid_days) if valid_days else None,
        max_uses=max_uses,
        max_uses_per_customer=max_uses_per_customer,
        issued_by=acting_user(actor),
        issued_by_label=actor_label,
        note=note,
    )


@transaction.atomic
def coupon_deactivate(*, coupon: Coupon, actor=None, actor_label: str = "") -> Coupon:
    require_perm(actor, "inventory.change_coupon", _("クーポン変更の権限がありません。"))
    coupon.active = False
    coupon.save(update_fields=["active"])
    return coupon


def normalized_request_name(name: str) -> str:
    """Full-width/half-width and case folded, spaces collapsed: 「ｺｰﾗ ゼロ」 and 「コーラ　ゼロ」 are one request."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def product_request_record(
    *,
    name: str,
    description: str = "",
    customer_key: str = "",
    channel: str = Sale.Channel.LINE,
    note: str = "",
    product: Product | None = None,
) -> ProductRequest:
    """Record that a customer asked for a product. The same customer asking again for the same name is one request
    with a higher `times_requested` (anonymous requests are each their own). Returns the request."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("商品名を入力してください。"), details={"field": "name"})
    if channel not in Sale.Channel.values:
        raise ValidationError(_("販売チャネルが正しくありません。"), details={"field": "channel"})
    normalized = normalized_request_name(name)
    if product is None:
        product = (
            Product.objects.filter(name_ja__iexact=name).first() or Product.objects.filter(name_en__iexact=name).first()
        )
    request = {
        "name": name,
        "normalized": normalized,
        "description": description,
        "customer_key": customer_key,
        "channel": channel,
        "note": note,
        "product": product,
    }
    try:
        return _product_request_write(**request)
    except IntegrityError:
        # The same customer's identical request raced ours and won: merge into it.
        return _product_request_write(**request)


@transaction.atomic
def _product_request_write(*, name, normalized, description, customer_key, channel, note, product) -> ProductRequest:
    existing = (
        ProductRequest.objects.select_for_update().filter(customer_key=customer_key, normalized_name=normalized).first()
        if customer_key
        else None
    )
    if existing is None:
        return ProductRequest.objects.create(
            name=name,
            normalized_name=normalized,
            description=description,
            customer_key=customer_key,
            channel=channel,
            note=note,
            product=product,
        )
    existing.times_requested = F("times_requested") + 1
    existing.description = existing.description or description
    existing.note = "\n".join(part for part in (existing.note, note) if part)
    existing.product = existing.product or product
    existing.save(update_fields=["times_requested", "description", "note", "product", "updated_at"])
    existing.refresh_from_db()
    return existing


@transaction.atomic
def product_request_set_status(*, product_request: ProductRequest, status: str, actor=None) -> ProductRequest:
    if status not in ProductRequest.Status.values:
        raise ValidationError(_("状態が正しくありません。"), details={"field": "status"})
    from_state = product_request.status
    product_request.status = status
    product_request.save(update_fields=["status", "updated_at"])
    audit_record(
        target=product_request, action="product_request.status", actor=actor, from_state=from_state, to_state=status
    )
    return product_request
