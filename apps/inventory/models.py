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

    sku = models.CharField(max_length=32, unique=True, verbose_name=_("SKU"))
    name_ja = models.CharField(max_length=120, verbose_name=_("名前（日本語）"))
    name_en = models.CharField(max_length=120, blank=True, verbose_name=_("名前（英語）"))
    description = models.TextField(blank=True, verbose_name=_("説明"))
    category = models.CharField(max_length=16, choices=Category.choices, verbose_name=_("カテゴリ"))
    image = models.ImageField(upload_to="products/", blank=True, verbose_name=_("画像"))
    tax_rate = models.PositiveSmallIntegerField(
        choices=TaxRate.choices, default=TaxRate.REDUCED, verbose_name=_("税率")
    )
    price_yen = models.PositiveIntegerField(help_text=_("税込価格（円）"), verbose_name=_("価格（円）"))
    unit_cost_yen = models.PositiveIntegerField(
        default=0, help_text=_("移動平均単価（税込仕入、円）"), verbose_name=_("単価（円）")
    )
    active = models.BooleanField(default=True, verbose_name=_("有効"))
    # Food labelling (食品表示): the allergen codes of `apps.inventory.allergens`, and whether anyone has checked them.
    # An unchecked product's empty list means "not known", never "contains none".
    allergens = models.JSONField(default=list, blank=True, verbose_name=_("アレルゲン"))
    allergens_checked = models.BooleanField(
        default=False,
        help_text=_("表示ラベルと照合済みなら、空のアレルゲン欄は「含まない」の意味になります。"),
        verbose_name=_("アレルゲン確認済み"),
    )
    calories_kcal = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("熱量（キロカロリー）"))
    ingredients = models.TextField(blank=True, verbose_name=_("原材料名"))

    class Meta:
        ordering = ["sku"]
        permissions = [("change_price", _("Can change a product's price through the price guard"))]
        constraints = [models.CheckConstraint(condition=Q(price_yen__gt=0), name="product_price_positive")]
        verbose_name = _("商品")
        verbose_name_plural = _("商品")

    def __str__(self):
        return f"{self.sku} {self.name_ja}"


class Machine(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("稼働中")
        MAINTENANCE = "maintenance", _("メンテナンス中")
        OFFLINE = "offline", _("停止")

    code = models.CharField(max_length=32, unique=True, help_text=_("例: HQ-1F"), verbose_name=_("コード"))
    name = models.CharField(max_length=120, verbose_name=_("名前"))
    location = models.CharField(max_length=200, blank=True, verbose_name=_("設置場所"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("ステータス")
    )
    # sha256 of the device token; the token itself is shown once by `device_token_issue` and never stored.
    device_token_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False, verbose_name=_("端末トークンのハッシュ")
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("最終ハートビート日時"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("自販機")
        verbose_name_plural = _("自販機")

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
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="slots", verbose_name=_("自販機"))
    code = models.CharField(max_length=8, help_text=_("例: A1"), verbose_name=_("コード"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="slots", verbose_name=_("商品")
    )
    capacity = models.PositiveIntegerField(default=10, verbose_name=_("容量"))
    quantity = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("数量"))
    par_level = models.PositiveIntegerField(default=DEFAULT_PAR_LEVEL, verbose_name=_("基準在庫"))

    class Meta:
        ordering = ["machine", "code"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "code"], name="slot_code_unique_per_machine"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="slot_quantity_not_negative"),
            models.CheckConstraint(condition=Q(quantity__lte=F("capacity")), name="slot_quantity_within_capacity"),
            models.CheckConstraint(condition=Q(product__isnull=False) | Q(quantity=0), name="slot_stock_has_product"),
        ]
        verbose_name = _("スロット")
        verbose_name_plural = _("スロット")

    def __str__(self):
        return f"{self.machine.code}/{self.code}"


class StorageStock(models.Model):
    """Back-room stock of one product (one back room per shop for now)."""

    product = models.OneToOneField(Product, on_delete=models.PROTECT, related_name="storage", verbose_name=_("商品"))
    quantity = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("数量"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="storage_quantity_not_negative")]
        verbose_name = _("倉庫在庫")
        verbose_name_plural = _("倉庫在庫")

    def __str__(self):
        return f"{self.product.sku}: {self.quantity}"


class StockLot(models.Model):
    """One delivery's units of a product with their date, in the back room (`slot` empty) or in one slot.

    A transfer to a slot splits the back-room lot (`source`); the units of every place are always exactly the sum of
    its lots' quantities (`stock_integrity_problems` checks it). Lots are emptied, never deleted.
    """

    class DateKind(models.TextChoices):
        BEST_BEFORE = "best_before", _("賞味期限")
        USE_BY = "use_by", _("消費期限")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots", verbose_name=_("商品"))
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="lots", verbose_name=_("スロット")
    )
    source = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("元のロット")
    )
    supplier = models.ForeignKey(
        "Supplier", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("仕入先")
    )
    expires_on = models.DateField(null=True, blank=True, db_index=True, verbose_name=_("期限"))
    date_kind = models.CharField(
        max_length=12, choices=DateKind.choices, default=DateKind.BEST_BEFORE, verbose_name=_("期限の種類")
    )
    unit_cost_yen = models.PositiveIntegerField(default=0, verbose_name=_("仕入単価（税抜、円）"))
    received_quantity = models.PositiveIntegerField(verbose_name=_("受入数"))
    quantity = models.PositiveIntegerField(verbose_name=_("数量"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = [F("expires_on").asc(nulls_last=True), "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__lte=F("received_quantity")), name="lot_quantity_in_received")
        ]
        indexes = [models.Index(fields=["product", "slot"], name="lot_place")]
        verbose_name = _("ロット")
        verbose_name_plural = _("ロット")

    def __str__(self):
        where = self.slot or _("倉庫")
        date = self.expires_on.isoformat() if self.expires_on else _("期限なし")
        return f"{self.product.sku} {date} ×{self.quantity} @ {where}"

    def is_expired(self, today: datetime.date) -> bool:
        """Past its date: the date itself is the last day it may be sold."""
        return self.expires_on is not None and self.expires_on < today


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

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements", verbose_name=_("商品"))
    location = models.CharField(max_length=8, choices=Location.choices, verbose_name=_("設置場所"))
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="movements", verbose_name=_("スロット")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("種類"))
    quantity_delta = models.IntegerField(verbose_name=_("数量の増減"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("実行者"),
    )
    actor_label = models.CharField(
        max_length=150,
        blank=True,
        help_text=_("Agent, machine or job when no user acted."),
        verbose_name=_("実行者ラベル"),
    )
    reason = models.TextField(blank=True, verbose_name=_("理由"))
    sale = models.ForeignKey(
        "Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="movements", verbose_name=_("販売")
    )
    # [[lot id, units], ...]: the lots this movement took units from or put them into.
    lots = models.JSONField(default=list, blank=True, editable=False, verbose_name=_("ロット"))
    # A receipt of goods ordered: ties the supplier's invoice the receipt books (買掛金) to the order that pays it.
    purchase_order = models.ForeignKey(
        "PurchaseOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipts",
        verbose_name=_("発注"),
    )

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
        verbose_name = _("在庫移動")
        verbose_name_plural = _("在庫移動")

    def __str__(self):
        where = self.slot or _("倉庫")
        return f"{self.get_kind_display()} {self.product.sku} {self.quantity_delta:+d} @ {where}"


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("％割引")
        YEN = "yen", _("円引き")

    code = models.CharField(max_length=32, unique=True, verbose_name=_("コード"))
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("種類"))
    value = models.PositiveIntegerField(help_text=_("％（1〜100）または円"), verbose_name=_("値"))
    valid_until = models.DateTimeField(null=True, blank=True, verbose_name=_("有効期限"))
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("空欄は無制限"), verbose_name=_("最大利用回数")
    )
    max_uses_per_customer = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("空欄は無制限"), verbose_name=_("顧客あたり最大利用回数")
    )
    active = models.BooleanField(default=True, verbose_name=_("有効"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("発行者"),
    )
    issued_by_label = models.CharField(
        max_length=150, blank=True, help_text=_("発行したエージェント名など"), verbose_name=_("発行者ラベル")
    )
    note = models.TextField(blank=True, verbose_name=_("メモ"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="coupon_value_positive"),
            models.CheckConstraint(condition=~Q(kind="percent") | Q(value__lte=100), name="coupon_percent_at_most_100"),
        ]
        verbose_name = _("クーポン")
        verbose_name_plural = _("クーポン")

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
    # Every other state: what was sold, refunded or not; the bookkeeper books these (index `sale_to_book` below).
    SOLD_STATES = (Status.COMPLETED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="sales", verbose_name=_("自販機"))
    channel = models.CharField(max_length=8, choices=Channel.choices, verbose_name=_("チャネル"))
    customer_key = models.CharField(
        max_length=100, blank=True, db_index=True, help_text=_("例: line:<id>"), verbose_name=_("顧客キー")
    )
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="sales", verbose_name=_("クーポン")
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.COMPLETED, verbose_name=_("ステータス")
    )
    subtotal_yen = models.PositiveIntegerField(help_text=_("割引前の税込合計"), verbose_name=_("小計（円）"))
    discount_yen = models.PositiveIntegerField(default=0, verbose_name=_("割引額（円）"))
    total_yen = models.PositiveIntegerField(help_text=_("支払額（税込）"), verbose_name=_("合計（円）"))
    # Tax-inclusive totals and the tax inside them per rate, after the discount (what the receipt shows).
    total_8_yen = models.PositiveIntegerField(default=0, verbose_name=_("8%対象合計（円）"))
    tax_8_yen = models.PositiveIntegerField(default=0, verbose_name=_("消費税8%（円）"))
    total_10_yen = models.PositiveIntegerField(default=0, verbose_name=_("10%対象合計（円）"))
    tax_10_yen = models.PositiveIntegerField(default=0, verbose_name=_("消費税10%（円）"))
    cost_yen = models.PositiveIntegerField(
        default=0, help_text=_("売上原価（移動平均単価×数量）"), verbose_name=_("費用（円）")
    )
    refunded_yen = models.PositiveIntegerField(default=0, verbose_name=_("返金額（円）"))
    note = models.TextField(blank=True, help_text=_("払い出しエラーなど、お客様に伝えた内容"), verbose_name=_("メモ"))
    # When the sale's journal entry was posted: a sale is completed without it and booked seconds later by the
    # bookkeeper (`books.sales_book_pending`), or at once by a refund or a period close that needs it first.
    booked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("記帳日時"))

    attempts = models.Manager()  # every row, attempts included (the purchase path and its reconciler)
    objects = SaleManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["-created_at", "-id"]
        permissions = [("refund_sale", _("Can refund a sale"))]
        indexes = [
            models.Index(
                fields=["id"],
                name="sale_to_book",
                # Sale.SOLD_STATES (not reachable from Meta): the bookkeeper's filter, so that it uses this index.
                condition=Q(booked_at__isnull=True, status__in=["completed", "partially_refunded", "refunded"]),
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_yen=F("subtotal_yen") - F("discount_yen")), name="sale_total"),
            models.CheckConstraint(condition=Q(total_yen=F("total_8_yen") + F("total_10_yen")), name="sale_rate_split"),
            models.CheckConstraint(condition=Q(refunded_yen__lte=F("total_yen")), name="sale_refund_within_total"),
            models.CheckConstraint(
                condition=~Q(status__in=["pending", "failed"]) | Q(refunded_yen=0), name="sale_attempt_not_refunded"
            ),
        ]
        verbose_name = _("販売")
        verbose_name_plural = _("販売")

    def __str__(self):
        return f"#{self.pk} {self.machine.code} ¥{self.total_yen:,}"


class SaleLine(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines", verbose_name=_("販売"))
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="+", verbose_name=_("スロット"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("商品"))
    quantity = models.PositiveIntegerField(verbose_name=_("数量"))
    unit_price_yen = models.PositiveIntegerField(verbose_name=_("単価（円）"))
    tax_rate = models.PositiveSmallIntegerField(choices=TaxRate.choices, verbose_name=_("税率"))
    discount_yen = models.PositiveIntegerField(
        default=0, help_text=_("この行に配分したクーポン割引"), verbose_name=_("割引額（円）")
    )
    total_yen = models.PositiveIntegerField(help_text=_("単価×数量−割引"), verbose_name=_("合計（円）"))
    unit_cost_yen = models.PositiveIntegerField(help_text=_("販売時の移動平均単価"), verbose_name=_("単価（円）"))
    dispensed_quantity = models.PositiveIntegerField(default=0, verbose_name=_("払出数量"))
    refunded_quantity = models.PositiveIntegerField(default=0, verbose_name=_("返金数量"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sale_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(total_yen=F("unit_price_yen") * F("quantity") - F("discount_yen")), name="sale_line_total"
            ),
            models.CheckConstraint(condition=Q(refunded_quantity__lte=F("quantity")), name="sale_line_refund_in_qty"),
        ]
        verbose_name = _("販売明細")
        verbose_name_plural = _("販売明細")

    def __str__(self):
        return f"{self.product.sku} × {self.quantity}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", _("クレジットカード")
        IC = "ic", _("交通系IC")
        CASH = "cash", _("現金")
        LINE_PAY = "line_pay", _("LINE Pay")
        QR = "qr", _("QRコード決済")
        PAYPAY = "paypay", _("PayPay")
        STRIPE = "stripe", _("カード（Stripe）")

    class Status(models.TextChoices):
        PENDING = "pending", _("処理中")
        CAPTURED = "captured", _("売上確定")
        DECLINED = "declined", _("拒否")
        CANCELLED = "cancelled", _("取消（請求なし）")
        REFUNDED = "refunded", _("返金済み")

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="payment", verbose_name=_("販売"))
    method = models.CharField(max_length=16, choices=Method.choices, verbose_name=_("支払方法"))
    amount_yen = models.PositiveIntegerField(verbose_name=_("金額（円）"))
    status = models.CharField(max_length=16, choices=Status.choices, verbose_name=_("ステータス"))
    # The key the gateway saw ("<machine>:<Idempotency-Key>"): a retried charge can never become a second one.
    idempotency_key = models.CharField(max_length=200, unique=True, verbose_name=_("冪等キー"))
    gateway_reference = models.CharField(max_length=100, blank=True, verbose_name=_("決済代行の参照番号"))
    refunded_yen = models.PositiveIntegerField(default=0, verbose_name=_("返金額（円）"))
    decline_reason = models.CharField(
        max_length=200, blank=True, help_text=_("決済端末が示した拒否の理由"), verbose_name=_("拒否理由")
    )
    # When the last charge of a pending payment began: the reconciler leaves it alone for a lease after that.
    charge_started_at = models.DateTimeField(default=timezone.now, verbose_name=_("課金開始日時"))

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
        verbose_name = _("支払")
        verbose_name_plural = _("支払")

    def __str__(self):
        return f"{self.get_method_display()} ¥{self.amount_yen:,} {self.get_status_display()}"


class PaymentRefund(models.Model):
    """Money owed back on a payment (a jam, a staff refund, a charge with no sale). Written in the transaction that
    books the refund; sent to the gateway after the commit, by the refunding request or, if that failed or died, by
    the reconciler. `sent_at` is when the gateway took it; its idempotency key makes a resend harmless."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("支払"))
    idempotency_key = models.CharField(max_length=220, unique=True, verbose_name=_("冪等キー"))
    amount_yen = models.PositiveIntegerField(verbose_name=_("金額（円）"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("送信日時"))
    gateway_reference = models.CharField(max_length=100, blank=True, verbose_name=_("決済代行の参照番号"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_yen__gt=0), name="payment_refund_amount_positive")]
        verbose_name = _("返金")
        verbose_name_plural = _("返金")

    def __str__(self):
        return f"{self.idempotency_key} ¥{self.amount_yen:,}"


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("クーポン"))
    sale = models.OneToOneField(
        Sale, on_delete=models.PROTECT, related_name="coupon_redemption", verbose_name=_("販売")
    )
    customer_key = models.CharField(max_length=100, blank=True, db_index=True, verbose_name=_("顧客キー"))
    discount_yen = models.PositiveIntegerField(verbose_name=_("割引額（円）"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        verbose_name = _("クーポン利用")
        verbose_name_plural = _("クーポン利用")

    def __str__(self):
        return f"{self.coupon.code} → sale #{self.sale_id}"


class PurchaseRequest(models.Model):
    """The first answer to one `Idempotency-Key` of one machine, replayed to every retry of the same request."""

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="+", verbose_name=_("自販機"))
    idempotency_key = models.CharField(max_length=100, verbose_name=_("冪等キー"))
    request_hash = models.CharField(max_length=64, verbose_name=_("リクエストのハッシュ"))
    sale = models.OneToOneField(
        Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("販売")
    )
    response_body = models.JSONField(default=dict, verbose_name=_("レスポンス本文"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "idempotency_key"], name="purchase_key_unique_per_machine")
        ]
        verbose_name = _("購入リクエスト")
        verbose_name_plural = _("購入リクエスト")

    def __str__(self):
        return f"{self.machine.code}:{self.idempotency_key}"


class PriceChange(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="price_changes", verbose_name=_("商品"))
    old_price_yen = models.PositiveIntegerField(verbose_name=_("旧価格（円）"))
    new_price_yen = models.PositiveIntegerField(verbose_name=_("新価格（円）"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("実行者"),
    )
    actor_label = models.CharField(max_length=150, blank=True, verbose_name=_("実行者ラベル"))
    reason = models.TextField(blank=True, verbose_name=_("理由"))
    guard_overridden = models.BooleanField(default=False, verbose_name=_("ガード上書き"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("価格変更")
        verbose_name_plural = _("価格変更")

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

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="restock_tasks", verbose_name=_("スロット"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("商品"))
    quantity = models.PositiveIntegerField(verbose_name=_("数量"))
    priority = models.CharField(max_length=8, choices=Priority.choices, verbose_name=_("優先度"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("ステータス"))
    transferred_quantity = models.PositiveIntegerField(default=0, verbose_name=_("移動数量"))
    done_at = models.DateTimeField(null=True, blank=True, verbose_name=_("完了日時"))
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("完了者"),
    )

    class Meta:
        ordering = ["status", "priority", "created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="restock_quantity_positive"),
            models.UniqueConstraint(fields=["slot"], condition=Q(status="open"), name="restock_one_open_task_per_slot"),
        ]
        verbose_name = _("補充タスク")
        verbose_name_plural = _("補充タスク")

    def __str__(self):
        return f"{self.slot} +{self.quantity} ({self.get_priority_display()})"


class ProductRequest(models.Model):
    """A customer asking for something the shop does not (yet) sell."""

    class Status(models.TextChoices):
        OPEN = "open", _("未対応")
        PLANNED = "planned", _("入荷予定")
        REJECTED = "rejected", _("見送り")
        FULFILLED = "fulfilled", _("入荷済み")

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新日時"))
    name = models.CharField(max_length=200, help_text=_("お客様が言った商品名"), verbose_name=_("名前"))
    normalized_name = models.CharField(max_length=200, db_index=True, editable=False, verbose_name=_("正規化名"))
    description = models.TextField(blank=True, verbose_name=_("説明"))
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests", verbose_name=_("商品")
    )
    customer_key = models.CharField(max_length=100, blank=True, db_index=True, verbose_name=_("顧客キー"))
    channel = models.CharField(
        max_length=8, choices=Sale.Channel.choices, default=Sale.Channel.LINE, verbose_name=_("チャネル")
    )
    note = models.TextField(blank=True, verbose_name=_("メモ"))
    times_requested = models.PositiveIntegerField(default=1, verbose_name=_("リクエスト回数"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=_("ステータス"))

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_key", "normalized_name"],
                condition=~Q(customer_key=""),
                name="product_request_once_per_customer",
            )
        ]
        verbose_name = _("商品リクエスト")
        verbose_name_plural = _("商品リクエスト")

    def __str__(self):
        return self.name


# --- Procurement: suppliers, their offers, purchase orders (the procurement agent proposes, staff decide) ---


class Supplier(models.Model):
    name = models.CharField(max_length=120, unique=True, verbose_name=_("名前"))
    contact_email = models.EmailField(help_text=_("承認された発注書の送り先"), verbose_name=_("連絡先メール"))
    lead_time_days = models.PositiveSmallIntegerField(
        default=2, help_text=_("発注から納品までの日数"), verbose_name=_("リードタイム（日）")
    )
    minimum_order_yen = models.PositiveIntegerField(
        default=0, help_text=_("1回の最低発注額（税抜、円）"), verbose_name=_("最低発注額（円）")
    )
    reliability_score = models.PositiveSmallIntegerField(
        default=80, help_text=_("納期・数量を守る度合い（0〜100）"), verbose_name=_("信頼性スコア")
    )
    active = models.BooleanField(default=True, verbose_name=_("有効"))
    note = models.TextField(blank=True, verbose_name=_("メモ"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(reliability_score__lte=100), name="supplier_reliability_at_most_100")
        ]
        verbose_name = _("仕入先")
        verbose_name_plural = _("仕入先")

    def __str__(self):
        return self.name


class SupplierOffer(models.Model):
    """A supplier's price for a product we sell, or for a new product (then only described)."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="offers", verbose_name=_("仕入先"))
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="offers", verbose_name=_("商品")
    )
    new_product_description = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("未登録の商品の場合の説明（商品を選んだときは空欄）"),
        verbose_name=_("新商品の説明"),
    )
    unit_cost_yen = models.PositiveIntegerField(
        help_text=_("1個あたりの仕入単価（税抜、円）"), verbose_name=_("単価（円）")
    )
    pack_size = models.PositiveIntegerField(default=1, help_text=_("発注単位（ケース入数）"), verbose_name=_("入数"))
    valid_until = models.DateField(null=True, blank=True, help_text=_("空欄は期限なし"), verbose_name=_("有効期限"))
    source = models.CharField(
        max_length=120, blank=True, help_text=_("例: 2026年11月 見積書、カタログ"), verbose_name=_("発生元")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

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
        verbose_name = _("仕入先の見積")
        verbose_name_plural = _("仕入先の見積")

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

    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name=_("仕入先")
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True, verbose_name=_("ステータス")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新日時"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("作成者"),
    )
    created_by_label = models.CharField(
        max_length=150, blank=True, help_text=_("作成したエージェントやジョブ"), verbose_name=_("作成者ラベル")
    )
    total_yen = models.PositiveIntegerField(default=0, help_text=_("発注額（税抜、円）"), verbose_name=_("合計（円）"))
    over_budget = models.BooleanField(
        default=False, help_text=_("月間調達予算を超える（マネージャーの承認が必要）"), verbose_name=_("予算超過")
    )
    reasoning = models.TextField(blank=True, help_text=_("この発注を提案した理由"), verbose_name=_("根拠"))
    offer_comparison = models.JSONField(
        default=list, blank=True, help_text=_("商品ごとの見積比較"), verbose_name=_("見積比較")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("承認者"),
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("承認日時"))
    ordered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("発注日時"))
    received_at = models.DateTimeField(null=True, blank=True, verbose_name=_("受信日時"))
    rejection_reason = models.TextField(blank=True, verbose_name=_("却下理由"))
    payable_yen = models.PositiveIntegerField(
        default=0, help_text=_("入荷分の仕入先への買掛金（税込、円）"), verbose_name=_("支払予定額（円）")
    )
    paid_yen = models.PositiveIntegerField(
        default=0, help_text=_("仕入先へ支払済みの額（円）"), verbose_name=_("支払額（円）")
    )

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
        verbose_name = _("発注")
        verbose_name_plural = _("発注")

    def __str__(self):
        return f"PO-{self.pk:05d} {self.supplier.name}" if self.pk else f"PO (new) {self.supplier.name}"


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("発注"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("商品"))
    offer = models.ForeignKey(
        SupplierOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("見積")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("数量"))
    unit_cost_yen = models.PositiveIntegerField(help_text=_("仕入単価（税抜、円）"), verbose_name=_("単価（円）"))
    received_quantity = models.PositiveIntegerField(default=0, verbose_name=_("入荷数量"))
    # True while the order is open: the partial unique constraint below keeps one open order line per product.
    is_open = models.BooleanField(default=True, editable=False, verbose_name=_("受付中"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(received_quantity__lte=F("quantity")), name="po_line_received_in_qty"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_open=True), name="po_line_one_open_order_per_product"
            ),
        ]
        verbose_name = _("発注明細")
        verbose_name_plural = _("発注明細")

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

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="fees", verbose_name=_("自販機"))
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("種類"))
    payee = models.CharField(
        max_length=120, blank=True, help_text=_("支払先（例: ビル管理会社、通信会社）"), verbose_name=_("支払先")
    )
    amount_yen = models.PositiveIntegerField(help_text=_("月額（税込、円）"), verbose_name=_("金額（円）"))
    tax_rate = models.PositiveSmallIntegerField(choices=Tax.choices, default=Tax.STANDARD, verbose_name=_("税率"))
    paid_from = models.CharField(
        max_length=8, choices=PaidFrom.choices, default=PaidFrom.BANK, verbose_name=_("支払元")
    )
    due_day = models.PositiveSmallIntegerField(
        default=31, help_text=_("毎月の支払日（1〜31、31は月末）"), verbose_name=_("支払日")
    )
    active_from = models.DateField(help_text=_("契約開始日"), verbose_name=_("有効開始"))
    active_until = models.DateField(
        null=True, blank=True, help_text=_("契約終了日（空欄は継続中）"), verbose_name=_("有効終了")
    )
    note = models.TextField(blank=True, verbose_name=_("メモ"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新日時"))

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
        verbose_name = _("自販機の固定費")
        verbose_name_plural = _("自販機の固定費")

    def __str__(self):
        return f"{self.machine.code} {self.get_kind_display()} ¥{self.amount_yen:,}"

    def due_date(self, month: datetime.date) -> datetime.date:
        """The day this fee falls due in `month` (a due day past the month's end is its last day)."""
        last_day = calendar.monthrange(month.year, month.month)[1]
        return month.replace(day=min(self.due_day, last_day))


class MachineFeeCharge(models.Model):
    """One month of a fee, posted to the books. Never edited: a wrong month is reversed (its `reversal_entry`), and
    the next run charges that month again at the fee's amount then."""

    fee = models.ForeignKey(
        MachineFee, on_delete=models.PROTECT, related_name="charges", verbose_name=_("自販機の固定費")
    )
    month = models.DateField(help_text=_("対象月（1日）"), verbose_name=_("月"))
    amount_yen = models.PositiveIntegerField(help_text=_("計上額（税込、円）"), verbose_name=_("金額（円）"))
    journal_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="+", verbose_name=_("仕訳")
    )
    reversal_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("取消仕訳")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-month", "fee"]
        constraints = [
            models.UniqueConstraint(
                fields=["fee", "month"], condition=Q(reversal_entry__isnull=True), name="machine_fee_charge_once"
            )
        ]
        verbose_name = _("固定費の請求")
        verbose_name_plural = _("固定費の請求")

    def __str__(self):
        return f"{self.fee} {self.month:%Y-%m}"


class Checkout(models.Model):
    """A sale paid on the customer's phone through a provider (PayPay dynamic QR, Stripe's hosted card page).

    The states follow the physical world: `reserved` (stock held, nothing charged; the QR is on the tablet) →
    `paid` (the provider says COMPLETED / succeeded; the sale is booked) → `dispensed`; or `expired` / `cancelled`
    (stock back, QR deleted at the provider); or `refunded` (paid, then given back: a payment after its reservation
    ended, or a staff refund). A LINE purchase is `paid` until its pickup code is typed at the machine.
    """

    class Provider(models.TextChoices):
        PAYPAY = "paypay", _("PayPay")
        STRIPE = "stripe", _("Stripe")

    class State(models.TextChoices):
        RESERVED = "reserved", _("予約中（未払い）")
        PAID = "paid", _("支払済み")
        DISPENSED = "dispensed", _("払い出し済み")
        EXPIRED = "expired", _("期限切れ")
        CANCELLED = "cancelled", _("取消")
        REFUNDED = "refunded", _("返金済み")

    OPEN_STATES = (State.RESERVED,)
    ENDED_UNPAID = (State.EXPIRED, State.CANCELLED)

    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="checkout", verbose_name=_("販売"))
    provider = models.CharField(max_length=8, choices=Provider.choices, verbose_name=_("決済事業者"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.RESERVED, verbose_name=_("状態"))
    # PayPay's merchantPaymentId (also Stripe's metadata): the sale, and how the provider's answers find it.
    merchant_payment_id = models.CharField(max_length=64, unique=True, verbose_name=_("加盟店決済ID"))
    # PayPay's codeId or Stripe's Checkout Session id.
    provider_session_id = models.CharField(max_length=255, blank=True, verbose_name=_("決済事業者のセッションID"))
    # PayPay's paymentId or Stripe's PaymentIntent id, once paid: one payment can complete one checkout only.
    provider_payment_id = models.CharField(
        max_length=255, null=True, blank=True, unique=True, verbose_name=_("決済事業者の支払ID")
    )
    pay_url = models.URLField(max_length=1000, blank=True, help_text=_("QRコードの中身"), verbose_name=_("支払URL"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("有効期限"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("支払日時"))
    # Set in its own commit just before the dispense command is sent (once: whoever sets it dispenses). Paid and
    # without it, the goods are surely still in the machine (the reconciler may dispense or refund); with it and not
    # dispensed, a process died while the machine worked: a person looks (the reconciliation report lists it).
    dispense_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("払い出し開始日時"))
    dispensed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("払い出し日時"))
    fee_yen = models.PositiveIntegerField(default=0, help_text=_("決済事業者の手数料"), verbose_name=_("手数料（円）"))
    pickup_code = models.CharField(max_length=8, null=True, blank=True, unique=True, verbose_name=_("受け取りコード"))
    pickup_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("受け取り期限"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("スマホ決済")
        verbose_name_plural = _("スマホ決済")

    def __str__(self):
        return f"{self.get_provider_display()} {self.merchant_payment_id} {self.get_state_display()}"


class ProviderPayout(models.Model):
    """A provider paid what it owed into the bank account: Stripe's payout (its `payout.paid` webhook) or a PayPay
    deposit (its settlement file, imported by staff). Booked: 普通預金 (net) and 決済手数料 (fee) / the provider's
    売掛金 (payments − refunds in it)."""

    provider = models.CharField(max_length=8, choices=Checkout.Provider.choices, verbose_name=_("決済事業者"))
    payout_id = models.CharField(max_length=255, verbose_name=_("入金ID"))
    paid_on = models.DateField(verbose_name=_("入金日"))
    gross_yen = models.IntegerField(help_text=_("入金に含まれる支払いの合計"), verbose_name=_("売上（円）"))
    refunds_yen = models.PositiveIntegerField(default=0, verbose_name=_("返金（円）"))
    fee_yen = models.PositiveIntegerField(default=0, verbose_name=_("決済手数料（円）"))
    net_yen = models.IntegerField(help_text=_("普通預金に入った額"), verbose_name=_("入金額（円）"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("取り込んだ人")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("記録日時"))

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "payout_id"], name="provider_payout_once"),
            models.CheckConstraint(
                condition=Q(net_yen=F("gross_yen") - F("refunds_yen") - F("fee_yen")), name="provider_payout_adds_up"
            ),
        ]
        verbose_name = _("決済事業者からの入金")
        verbose_name_plural = _("決済事業者からの入金")

    def __str__(self):
        return f"{self.get_provider_display()} {self.payout_id} ¥{self.net_yen:,}"


class ProviderTransaction(models.Model):
    """One line of a payout as the provider reports it: a payment (positive) or a refund (negative), with its fee."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("支払い")
        REFUND = "refund", _("返金")
        OTHER = "other", _("その他")

    payout = models.ForeignKey(
        ProviderPayout, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("入金")
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("種類"))
    reference = models.CharField(max_length=255, verbose_name=_("決済事業者の取引ID"))
    # The payment it belongs to (PayPay's paymentId, Stripe's PaymentIntent): what `Checkout.provider_payment_id` holds.
    payment_reference = models.CharField(max_length=255, blank=True, db_index=True, verbose_name=_("支払ID"))
    merchant_payment_id = models.CharField(max_length=64, blank=True, verbose_name=_("加盟店決済ID"))
    amount_yen = models.IntegerField(verbose_name=_("金額（円）"))
    fee_yen = models.IntegerField(default=0, verbose_name=_("手数料（円）"))
    occurred_at = models.DateTimeField(null=True, blank=True, verbose_name=_("取引日時"))

    class Meta:
        ordering = ["payout", "id"]
        verbose_name = _("入金明細")
        verbose_name_plural = _("入金明細")

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference} ¥{self.amount_yen:,}"


class ReconciliationReport(models.Model):
    """The day's reconciliation of phone payments: what the providers report vs the shop's sales vs the books. Every
    mismatch is listed ({"check", "provider", "reference", "message"}); the dashboard shows the latest count."""

    day = models.DateField(unique=True, verbose_name=_("対象日"))
    mismatch_count = models.PositiveIntegerField(default=0, verbose_name=_("不一致の件数"))
    mismatches = models.JSONField(default=list, blank=True, verbose_name=_("不一致"))
    figures = models.JSONField(default=dict, blank=True, verbose_name=_("集計"))
    created_at = models.DateTimeField(auto_now=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("決済照合レポート")
        verbose_name_plural = _("決済照合レポート")

    def __str__(self):
        return f"{self.day:%Y-%m-%d} ({self.mismatch_count})"


# --- Stocktaking (棚卸): counts of a machine or the back room, approved by a Manager ---


class Stocktake(models.Model):
    """A count of every slot of one machine, or of the back room (`machine` empty).

    Each line keeps the book quantity read at the moment its count was entered (under the place's lock), so a sale
    between the start and the count, or after the count, never shows up as a difference.
    """

    class Status(models.TextChoices):
        COUNTING = "counting", _("カウント中")
        APPROVED = "approved", _("承認済み")
        CANCELLED = "cancelled", _("取消")

    machine = models.ForeignKey(
        Machine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stocktakes",
        help_text=_("空欄なら倉庫の棚卸です。"),
        verbose_name=_("自販機"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.COUNTING, verbose_name=_("ステータス")
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("開始者")
    )
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("開始日時"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("承認者"),
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("承認日時"))
    note = models.TextField(blank=True, verbose_name=_("メモ"))

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("approve_stocktake", _("Can approve a stocktake and post its differences"))]
        constraints = [
            # One open count per place: two people counting the same shelf would post its difference twice.
            models.UniqueConstraint(
                fields=["machine"], condition=Q(status="counting"), name="stocktake_one_open_per_machine"
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="counting", machine__isnull=True),
                name="stocktake_one_open_back_room",
            ),
        ]
        verbose_name = _("棚卸")
        verbose_name_plural = _("棚卸")

    def __str__(self):
        where = self.machine.code if self.machine_id else _("倉庫")
        return f"{where} {timezone.localtime(self.started_at):%Y-%m-%d}"


class StocktakeLine(models.Model):
    """One place's count: a slot of the machine, or one product in the back room."""

    stocktake = models.ForeignKey(Stocktake, on_delete=models.CASCADE, related_name="lines", verbose_name=_("棚卸"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("商品"))
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("スロット")
    )
    book_at_start = models.PositiveIntegerField(verbose_name=_("開始時の帳簿数"))
    counted_quantity = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("実数"))
    book_at_count = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("カウント時の帳簿数"))
    counted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("カウント日時"))
    reason = models.CharField(max_length=200, blank=True, verbose_name=_("差異の理由"))
    difference_cost_yen = models.IntegerField(
        null=True, blank=True, help_text=_("承認時の移動平均原価での差異"), verbose_name=_("差異の原価（円）")
    )
    movement = models.OneToOneField(
        StockMovement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("調整の在庫移動"),
    )

    class Meta:
        ordering = ["slot__code", "product__sku", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(counted_quantity__isnull=True, book_at_count__isnull=True)
                | Q(counted_quantity__isnull=False, book_at_count__isnull=False),
                name="stocktake_line_count_has_book",
            )
        ]
        verbose_name = _("棚卸明細")
        verbose_name_plural = _("棚卸明細")

    def __str__(self):
        return f"{self.slot or _('倉庫')} {self.product.sku}"

    @property
    def difference(self) -> int | None:
        """Counted minus the book at the moment of counting (negative: missing)."""
        if self.counted_quantity is None:
            return None
        return self.counted_quantity - self.book_at_count
