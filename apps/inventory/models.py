"""The physical shop: catalogue, machines and slots, stock and its movements, sales, payments, coupons.

Stock quantities (`Slot.quantity`, `StorageStock.quantity`) are caches of their append-only `StockMovement` rows;
only `apps.inventory.services` changes either, always both in one transaction (`manage.py check_stock` proves it).
"""

import calendar
import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounting.models import JournalEntry
from apps.accounting.postings import PaidFrom
from apps.core.money import TaxRate

DEFAULT_PAR_LEVEL = 5


class Product(models.Model):
    class Category(models.TextChoices):
        DRINK = "drink", _("飲料")
        SNACK = "snack", _("菓子")
        FOOD = "food", _("食品")
        SPECIALTY = "specialty", _("特選品")
        GOODS = "goods", _("雑貨")

    sku = models.CharField(max_length=32, unique=True)
    name_ja = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    image = models.ImageField(upload_to="products/", blank=True)
    tax_rate = models.PositiveSmallIntegerField(choices=TaxRate.choices, default=TaxRate.REDUCED)
    price_yen = models.PositiveIntegerField(help_text=_("税込価格（円）"))
    unit_cost_yen = models.PositiveIntegerField(default=0, help_text=_("移動平均単価（税込仕入、円）"))
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        permissions = [("change_price", _("Can change a product's price through the price guard"))]
        constraints = [models.CheckConstraint(condition=Q(price_yen__gt=0), name="product_price_positive")]

    def __str__(self):
        return f"{self.sku} {self.name_ja}"


class Machine(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("稼働中")
        MAINTENANCE = "maintenance", _("メンテナンス中")
        OFFLINE = "offline", _("停止")

    code = models.CharField(max_length=32, unique=True, help_text=_("例: HQ-1F"))
    name = models.CharField(max_length=120)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # sha256 of the device token; the token itself is shown once by `device_token_issue` and never stored.
    device_token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class TabletPairingCode(models.Model):
    """A one-time link's code that pairs one tablet with a machine without handing out (or rotating) its device
    token: sha256-stored, good for `TABLET_PAIRING_CODE_MINUTES`, consumed by the first pairing."""

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="pairing_codes")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("タブレットのペアリングコード")
        verbose_name_plural = _("タブレットのペアリングコード")

    def __str__(self):
        return f"{self.machine_id}: {self.expires_at:%Y-%m-%d %H:%M}"


class Slot(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="slots")
    code = models.CharField(max_length=8, help_text=_("例: A1"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="slots")
    capacity = models.PositiveIntegerField(default=10)
    quantity = models.PositiveIntegerField(default=0, editable=False)
    par_level = models.PositiveIntegerField(default=DEFAULT_PAR_LEVEL)

    class Meta:
        ordering = ["machine", "code"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "code"], name="slot_code_unique_per_machine"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="slot_quantity_not_negative"),
            models.CheckConstraint(condition=Q(quantity__lte=F("capacity")), name="slot_quantity_within_capacity"),
            models.CheckConstraint(condition=Q(product__isnull=False) | Q(quantity=0), name="slot_stock_has_product"),
        ]

    def __str__(self):
        return f"{self.machine.code}/{self.code}"


class StorageStock(models.Model):
    """Back-room stock of one product (one back room per shop for now)."""

    product = models.OneToOneField(Product, on_delete=models.PROTECT, related_name="storage")
    quantity = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name_plural = "storage stock"
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="storage_quantity_not_negative")]

    def __str__(self):
        return f"{self.product.sku}: {self.quantity}"


class StockMovement(models.Model):
    """One change of stock at one place; never updated or deleted. A transfer is two rows (storage out, slot in)."""

    class Kind(models.TextChoices):
        SALE = "sale", _("販売")
        TRANSFER = "transfer", _("補充（倉庫→スロット）")
        RECEIPT = "receipt", _("入荷")
        ADJUSTMENT = "adjustment", _("棚卸調整")
        WASTE = "waste", _("廃棄")
        REFUND_RETURN = "refund_return", _("返品・返金戻し")
        RELEASE = "release", _("購入不成立の戻し")

    class Location(models.TextChoices):
        SLOT = "slot", _("スロット")
        STORAGE = "storage", _("倉庫")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    location = models.CharField(max_length=8, choices=Location.choices)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity_delta = models.IntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text=_("Agent, machine or job when no user acted."))
    reason = models.TextField(blank=True)
    sale = models.ForeignKey("Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="movements")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("adjust_stock", _("Can adjust stock and record waste"))]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity_delta=0), name="movement_delta_not_zero"),
            models.CheckConstraint(
                condition=(Q(location="slot", slot__isnull=False) | Q(location="storage", slot__isnull=True)),
                name="movement_slot_matches_location",
            ),
        ]

    def __str__(self):
        where = self.slot or _("倉庫")
        return f"{self.get_kind_display()} {self.product.sku} {self.quantity_delta:+d} @ {where}"


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("％割引")
        YEN = "yen", _("円引き")

    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.PositiveIntegerField(help_text=_("％（1〜100）または円"))
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text=_("空欄は無制限"))
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True, help_text=_("空欄は無制限"))
    active = models.BooleanField(default=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by_label = models.CharField(max_length=150, blank=True, help_text=_("発行したエージェント名など"))
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="coupon_value_positive"),
            models.CheckConstraint(condition=~Q(kind="percent") | Q(value__lte=100), name="coupon_percent_at_most_100"),
        ]

    def __str__(self):
        return self.code


class SaleManager(models.Manager):
    """Sales that happened. A purchase is recorded as a pending sale before the card is charged; one that is still
    pending, or that failed (declined, or given up by the reconciler), sold nothing and is left out of every report
    and refund. `Sale.attempts` sees them all (the purchase path and its reconciler)."""

    def get_queryset(self):
        return super().get_queryset().exclude(status__in=Sale.ATTEMPT_STATES)


class Sale(models.Model):
    class Channel(models.TextChoices):
        TABLET = "tablet", _("タブレット")
        LINE = "line", _("LINE")
        ADMIN = "admin", _("管理画面")

    class Status(models.TextChoices):
        PENDING = "pending", _("決済中")
        FAILED = "failed", _("不成立")
        COMPLETED = "completed", _("完了")
        PARTIALLY_REFUNDED = "partially_refunded", _("一部返金")
        REFUNDED = "refunded", _("返金済み")

    ATTEMPT_STATES = (Status.PENDING, Status.FAILED)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="sales")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    customer_key = models.CharField(max_length=100, blank=True, db_index=True, help_text=_("例: line:<id>"))
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="sales")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    subtotal_yen = models.PositiveIntegerField(help_text=_("割引前の税込合計"))
    discount_yen = models.PositiveIntegerField(default=0)
    total_yen = models.PositiveIntegerField(help_text=_("支払額（税込）"))
    # Tax-inclusive totals and the tax inside them per rate, after the discount (what the receipt shows).
    total_8_yen = models.PositiveIntegerField(default=0)
    tax_8_yen = models.PositiveIntegerField(default=0)
    total_10_yen = models.PositiveIntegerField(default=0)
    tax_10_yen = models.PositiveIntegerField(default=0)
    cost_yen = models.PositiveIntegerField(default=0, help_text=_("売上原価（移動平均単価×数量）"))
    refunded_yen = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True, help_text=_("払い出しエラーなど、お客様に伝えた内容"))

    attempts = models.Manager()  # every row, attempts included (the purchase path and its reconciler)
    objects = SaleManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["-created_at", "-id"]
        permissions = [("refund_sale", _("Can refund a sale"))]
        constraints = [
            models.CheckConstraint(condition=Q(total_yen=F("subtotal_yen") - F("discount_yen")), name="sale_total"),
            models.CheckConstraint(condition=Q(total_yen=F("total_8_yen") + F("total_10_yen")), name="sale_rate_split"),
            models.CheckConstraint(condition=Q(refunded_yen__lte=F("total_yen")), name="sale_refund_within_total"),
            models.CheckConstraint(
                condition=~Q(status__in=["pending", "failed"]) | Q(refunded_yen=0), name="sale_attempt_not_refunded"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.machine.code} ¥{self.total_yen:,}"


class SaleLine(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price_yen = models.PositiveIntegerField()
    tax_rate = models.PositiveSmallIntegerField(choices=TaxRate.choices)
    discount_yen = models.PositiveIntegerField(default=0, help_text=_("この行に配分したクーポン割引"))
    total_yen = models.PositiveIntegerField(help_text=_("単価×数量−割引"))
    unit_cost_yen = models.PositiveIntegerField(help_text=_("販売時の移動平均単価"))
    dispensed_quantity = models.PositiveIntegerField(default=0)
    refunded_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sale_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(total_yen=F("unit_price_yen") * F("quantity") - F("discount_yen")), name="sale_line_total"
            ),
            models.CheckConstraint(condition=Q(refunded_quantity__lte=F("quantity")), name="sale_line_refund_in_qty"),
        ]

    def __str__(self):
        return f"{self.product.sku} × {self.quantity}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", _("クレジットカード")
        IC = "ic", _("交通系IC")
        CASH = "cash", _("現金")
        LINE_PAY = "line_pay", _("LINE Pay")
        QR = "qr", _("QRコード決済")

    class Status(models.TextChoices):
        PENDING = "pending", _("処理中")
        CAPTURED = "captured", _("売上確定")
        DECLINED = "declined", _("拒否")
        CANCELLED = "cancelled", _("取消（請求なし）")
        REFUNDED = "refunded", _("返金済み")

    created_at = models.DateTimeField(auto_now_add=True)
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="payment")
    method = models.CharField(max_length=16, choices=Method.choices)
    amount_yen = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    # The key the gateway saw ("<machine>:<Idempotency-Key>"): a retried charge can never become a second one.
    idempotency_key = models.CharField(max_length=200, unique=True)
    gateway_reference = models.CharField(max_length=100, blank=True)
    refunded_yen = models.PositiveIntegerField(default=0)
    decline_reason = models.CharField(max_length=200, blank=True, help_text=_("決済端末が示した拒否の理由"))
    # When the last charge of a pending payment began: the reconciler leaves it alone for a lease after that.
    charge_started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(refunded_yen__lte=F("amount_yen")), name="payment_refund_within_amount"),
            models.CheckConstraint(
                condition=~Q(status="refunded") | Q(refunded_yen=F("amount_yen")), name="payment_refunded_in_full"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["pending", "declined", "cancelled"]) | Q(refunded_yen=0),
                name="payment_uncaptured_not_refunded",
            ),
        ]

    def __str__(self):
        return f"{self.get_method_display()} ¥{self.amount_yen:,} {self.get_status_display()}"


class PaymentRefund(models.Model):
    """Money owed back on a payment (a jam, a staff refund, a charge with no sale). Written in the transaction that
    books the refund; sent to the gateway after the commit, by the refunding request or, if that failed or died, by
    the reconciler. `sent_at` is when the gateway took it; its idempotency key makes a resend harmless."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=220, unique=True)
    amount_yen = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_yen__gt=0), name="payment_refund_amount_positive")]

    def __str__(self):
        return f"{self.idempotency_key} ¥{self.amount_yen:,}"


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="coupon_redemption")
    customer_key = models.CharField(max_length=100, blank=True, db_index=True)
    discount_yen = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.coupon.code} → sale #{self.sale_id}"


class PurchaseRequest(models.Model):
    """The first answer to one `Idempotency-Key` of one machine, replayed to every retry of the same request."""

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "idempotency_key"], name="purchase_key_unique_per_machine")
        ]

    def __str__(self):
        return f"{self.machine.code}:{self.idempotency_key}"


class PriceChange(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="price_changes")
    old_price_yen = models.PositiveIntegerField()
    new_price_yen = models.PositiveIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    guard_overridden = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.product.sku}: ¥{self.old_price_yen:,} → ¥{self.new_price_yen:,}"


class RestockTask(models.Model):
    class Priority(models.TextChoices):
        HIGH = "high", _("高")
        NORMAL = "normal", _("通常")

    class Status(models.TextChoices):
        OPEN = "open", _("未対応")
        DONE = "done", _("完了")
        CANCELLED = "cancelled", _("取消")

    created_at = models.DateTimeField(auto_now_add=True)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="restock_tasks")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    priority = models.CharField(max_length=8, choices=Priority.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    transferred_quantity = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["status", "priority", "created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="restock_quantity_positive"),
            models.UniqueConstraint(fields=["slot"], condition=Q(status="open"), name="restock_one_open_task_per_slot"),
        ]

    def __str__(self):
        return f"{self.slot} +{self.quantity} ({self.get_priority_display()})"


class ProductRequest(models.Model):
    """A customer asking for something the shop does not (yet) sell."""

    class Status(models.TextChoices):
        OPEN = "open", _("未対応")
        PLANNED = "planned", _("入荷予定")
        REJECTED = "rejected", _("見送り")
        FULFILLED = "fulfilled", _("入荷済み")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    name = models.CharField(max_length=200, help_text=_("お客様が言った商品名"))
    normalized_name = models.CharField(max_length=200, db_index=True, editable=False)
    description = models.TextField(blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    customer_key = models.CharField(max_length=100, blank=True, db_index=True)
    channel = models.CharField(max_length=8, choices=Sale.Channel.choices, default=Sale.Channel.LINE)
    note = models.TextField(blank=True)
    times_requested = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_key", "normalized_name"],
                condition=~Q(customer_key=""),
                name="product_request_once_per_customer",
            )
        ]

    def __str__(self):
        return self.name


# --- Procurement: suppliers, their offers, purchase orders (the procurement agent proposes, staff decide) ---


class Supplier(models.Model):
    name = models.CharField(max_length=120, unique=True)
    contact_email = models.EmailField(help_text=_("承認された発注書の送り先"))
    lead_time_days = models.PositiveSmallIntegerField(default=2, help_text=_("発注から納品までの日数"))
    minimum_order_yen = models.PositiveIntegerField(default=0, help_text=_("1回の最低発注額（税抜、円）"))
    reliability_score = models.PositiveSmallIntegerField(default=80, help_text=_("納期・数量を守る度合い（0〜100）"))
    active = models.BooleanField(default=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(reliability_score__lte=100), name="supplier_reliability_at_most_100")
        ]

    def __str__(self):
        return self.name


class SupplierOffer(models.Model):
    """A supplier's price for a product we sell, or for a new product (then only described)."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="offers")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="offers")
    new_product_description = models.CharField(
        max_length=200, blank=True, help_text=_("未登録の商品の場合の説明（商品を選んだときは空欄）")
    )
    unit_cost_yen = models.PositiveIntegerField(help_text=_("1個あたりの仕入単価（税抜、円）"))
    pack_size = models.PositiveIntegerField(default=1, help_text=_("発注単位（ケース入数）"))
    valid_until = models.DateField(null=True, blank=True, help_text=_("空欄は期限なし"))
    source = models.CharField(max_length=120, blank=True, help_text=_("例: 2026年11月 見積書、カタログ"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["supplier", "product", "unit_cost_yen"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost_yen__gt=0), name="offer_unit_cost_positive"),
            models.CheckConstraint(condition=Q(pack_size__gt=0), name="offer_pack_size_positive"),
            models.CheckConstraint(
                condition=Q(product__isnull=False, new_product_description="")
                | Q(product__isnull=True) & ~Q(new_product_description=""),
                name="offer_product_or_description",
            ),
        ]

    def __str__(self):
        what = self.product.name_ja if self.product else self.new_product_description
        return f"{self.supplier.name}: {what} ¥{self.unit_cost_yen:,}×{self.pack_size}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PENDING_HUMAN_APPROVAL = "pending_human_approval", _("承認待ち")
        APPROVED = "approved", _("承認済み")
        ORDERED = "ordered", _("発注済み")
        PARTIALLY_RECEIVED = "partially_received", _("一部入荷")
        RECEIVED = "received", _("入荷完了")
        REJECTED = "rejected", _("却下")
        CANCELLED = "cancelled", _("取消")

    # Until one of these, the order's lines hold their products (one open order per product).
    CLOSED_STATES = (Status.RECEIVED, Status.REJECTED, Status.CANCELLED)

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True, help_text=_("作成したエージェントやジョブ"))
    total_yen = models.PositiveIntegerField(default=0, help_text=_("発注額（税抜、円）"))
    over_budget = models.BooleanField(default=False, help_text=_("月間調達予算を超える（マネージャーの承認が必要）"))
    reasoning = models.TextField(blank=True, help_text=_("この発注を提案した理由"))
    offer_comparison = models.JSONField(default=list, blank=True, help_text=_("商品ごとの見積比較"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    ordered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    payable_yen = models.PositiveIntegerField(default=0, help_text=_("入荷分の仕入先への買掛金（税込、円）"))
    paid_yen = models.PositiveIntegerField(default=0, help_text=_("仕入先へ支払済みの額（円）"))

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_purchaseorder", _("Can approve or reject a purchase order")),
            ("receive_purchaseorder", _("Can record goods received for a purchase order")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="purchase_order_not_approved_by_creator",
            ),
            models.CheckConstraint(
                condition=Q(paid_yen__lte=F("payable_yen")), name="purchase_order_paid_within_payable"
            ),
        ]

    def __str__(self):
        return f"PO-{self.pk:05d} {self.supplier.name}" if self.pk else f"PO (new) {self.supplier.name}"


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(SupplierOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_cost_yen = models.PositiveIntegerField(help_text=_("仕入単価（税抜、円）"))
    received_quantity = models.PositiveIntegerField(default=0)
    # True while the order is open: the partial unique constraint below keeps one open order line per product.
    is_open = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(received_quantity__lte=F("quantity")), name="po_line_received_in_qty"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_open=True), name="po_line_one_open_order_per_product"
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} × {self.quantity}"

    @property
    def total_yen(self) -> int:
        return self.quantity * self.unit_cost_yen

    @property
    def outstanding_quantity(self) -> int:
        return self.quantity - self.received_quantity


# --- Machine fees: what each machine costs the shop every month (rent to the host, connectivity, ...) ---


class MachineFee(models.Model):
    """A monthly fee of one machine, as its contract says: charged into the books once per month on its due day
    (`services.machine_fees_charge`). Edits change the months not yet charged; charged months keep their amount."""

    class Kind(models.TextChoices):
        LOCATION_RENT = "location_rent", _("設置場所の賃料")
        CONNECTIVITY = "connectivity", _("通信費")
        PAYMENT_TERMINAL = "payment_terminal", _("決済端末レンタル")
        OTHER = "other", _("その他")

    class Tax(models.IntegerChoices):
        STANDARD = 10, _("10%（標準税率）")
        NONE = 0, _("なし（非課税・不課税）")

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="fees")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payee = models.CharField(max_length=120, blank=True, help_text=_("支払先（例: ビル管理会社、通信会社）"))
    amount_yen = models.PositiveIntegerField(help_text=_("月額（税込、円）"))
    tax_rate = models.PositiveSmallIntegerField(choices=Tax.choices, default=Tax.STANDARD)
    paid_from = models.CharField(max_length=8, choices=PaidFrom.choices, default=PaidFrom.BANK)
    due_day = models.PositiveSmallIntegerField(default=31, help_text=_("毎月の支払日（1〜31、31は月末）"))
    active_from = models.DateField(help_text=_("契約開始日"))
    active_until = models.DateField(null=True, blank=True, help_text=_("契約終了日（空欄は継続中）"))
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["machine", "kind", "active_from"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_yen__gt=0), name="machine_fee_amount_positive"),
            models.CheckConstraint(condition=Q(tax_rate__in=[0, 10]), name="machine_fee_tax_rate"),
            models.CheckConstraint(condition=Q(due_day__gte=1, due_day__lte=31), name="machine_fee_due_day"),
            models.CheckConstraint(
                condition=Q(active_until__isnull=True) | Q(active_until__gte=F("active_from")),
                name="machine_fee_until_after_from",
            ),
        ]

    def __str__(self):
        return f"{self.machine.code} {self.get_kind_display()} ¥{self.amount_yen:,}"

    def due_date(self, month: datetime.date) -> datetime.date:
        """The day this fee falls due in `month` (a due day past the month's end is its last day)."""
        last_day = calendar.monthrange(month.year, month.month)[1]
        return month.replace(day=min(self.due_day, last_day))


class MachineFeeCharge(models.Model):
    """One month of a fee, posted to the books. Never edited: a wrong month is reversed (its `reversal_entry`), and
    the next run charges that month again at the fee's amount then."""

    fee = models.ForeignKey(MachineFee, on_delete=models.PROTECT, related_name="charges")
    month = models.DateField(help_text=_("対象月（1日）"))
    amount_yen = models.PositiveIntegerField(help_text=_("計上額（税込、円）"))
    journal_entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    reversal_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "fee"]
        constraints = [
            models.UniqueConstraint(
                fields=["fee", "month"], condition=Q(reversal_entry__isnull=True), name="machine_fee_charge_once"
            )
        ]

    def __str__(self):
        return f"{self.fee} {self.month:%Y-%m}"
