"""Double-entry books in integer yen.

Posted entries never change: a correction is a reversing entry. Only `apps.accounting.services.journal_entry_post`
writes entries and lines (with hand-written INSERTs, `apps.core.sql`); the model refuses every write through the ORM
(save, delete, QuerySet.update/delete/bulk_create), and on PostgreSQL a trigger refuses UPDATE and DELETE as well.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.errors import Conflict
from apps.core.money import TaxRate

IMMUTABLE_MESSAGE = _("記帳済みの仕訳は変更・削除できません。訂正は取消仕訳で行ってください。")
DIRECT_WRITE_MESSAGE = _("仕訳は記帳サービス（journal_entry_post）からのみ登録できます。")


class AccountType(models.TextChoices):
    ASSET = "asset", _("資産")
    LIABILITY = "liability", _("負債")
    EQUITY = "equity", _("純資産")
    REVENUE = "revenue", _("収益")
    EXPENSE = "expense", _("費用")


class NormalSide(models.TextChoices):
    DEBIT = "debit", _("借方")
    CREDIT = "credit", _("貸方")


class Account(models.Model):
    """One account of the chart; seeded by migration. `beancount_name` is its name in the Beancount export."""

    code = models.CharField(max_length=10, unique=True, verbose_name=_("コード"))
    name = models.CharField(max_length=100, verbose_name=_("名前"))
    account_type = models.CharField(max_length=10, choices=AccountType.choices, verbose_name=_("科目区分"))
    normal_side = models.CharField(max_length=6, choices=NormalSide.choices, verbose_name=_("通常残高側"))
    beancount_name = models.CharField(max_length=200, unique=True, verbose_name=_("Beancount勘定名"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("親科目")
    )
    allows_posting = models.BooleanField(
        default=True, help_text=_("集計用の親科目には記帳できません。"), verbose_name=_("転記可")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("勘定科目")
        verbose_name_plural = _("勘定科目")

    def __str__(self):
        return f"{self.code} {self.name}"


# PostgreSQL sequence that numbers journal entries (migration 0008); see `services._entry_number_take`.
ENTRY_NUMBER_SEQUENCE = "accounting_journal_entry_number"


class Ledger(models.Model):
    """The single row that holds the lock date and the last closed fiscal year end. Every posting reads it under a
    shared lock (postings do not wait on each other); closing locks it exclusively."""

    closed_through = models.DateField(
        null=True, blank=True, help_text=_("この日以前の日付では記帳できません。"), verbose_name=_("締め済み日")
    )
    fiscal_year_closed_through = models.DateField(
        null=True,
        blank=True,
        help_text=_("この日を期末とする年度まで、損益を繰越利益剰余金に振り替え済みです。"),
        verbose_name=_("年度締め済み日"),
    )

    class Meta:
        verbose_name = _("元帳の状態")
        verbose_name_plural = _("元帳の状態")
        permissions = [
            ("close_period", _("Can close an accounting period")),
            ("reopen_period", _("Can undo a period close")),
        ]
        constraints = [models.CheckConstraint(condition=Q(id=1), name="accounting_ledger_single_row")]

    def __str__(self):
        return f"#{self.last_entry_number} / closed through {self.closed_through or '-'}"

    @property
    def last_entry_number(self) -> int:
        """The highest entry number posted so far (0 before the first)."""
        return JournalEntry.objects.aggregate(last=models.Max("number"))["last"] or 0


class EntryKind(models.TextChoices):
    MANUAL = "manual", _("手動仕訳")
    CAPITAL = "capital", _("資本金の払込")
    SALE = "sale", _("売上")
    REFUND = "refund", _("返金")
    PURCHASE_RECEIPT = "purchase_receipt", _("仕入（入荷）")
    SUPPLIER_PAYMENT = "supplier_payment", _("仕入先への支払")
    STOCK_ADJUSTMENT = "stock_adjustment", _("在庫調整")
    AI_USAGE = "ai_usage", _("AI利用料")
    MACHINE_FEE = "machine_fee", _("機械手数料")
    CARD_SETTLEMENT = "card_settlement", _("カード・IC入金")
    REVERSAL = "reversal", _("取消仕訳")
    YEAR_END_CLOSING = "year_end_closing", _("決算振替")
    PAYABLE_PAYMENT = "payable_payment", _("未払金・買掛金の支払")
    TAX_SETTLEMENT = "tax_settlement", _("消費税の精算")


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise Conflict(IMMUTABLE_MESSAGE)

    def delete(self):
        raise Conflict(IMMUTABLE_MESSAGE)

    def bulk_update(self, objs, fields, batch_size=None):
        raise Conflict(IMMUTABLE_MESSAGE)

    def bulk_create(self, objs, *args, **kwargs):
        raise Conflict(DIRECT_WRITE_MESSAGE)


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        raise Conflict(DIRECT_WRITE_MESSAGE if self._state.adding else IMMUTABLE_MESSAGE)

    def delete(self, *args, **kwargs):
        raise Conflict(IMMUTABLE_MESSAGE)


class JournalEntry(ImmutableModel):
    number = models.PositiveBigIntegerField(unique=True, verbose_name=_("番号"))
    date = models.DateField(db_index=True, verbose_name=_("日付"))
    memo = models.CharField(max_length=300, verbose_name=_("摘要"))
    kind = models.CharField(max_length=20, choices=EntryKind.choices, default=EntryKind.MANUAL, verbose_name=_("種類"))
    source_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("発生元種別")
    )
    source_id = models.CharField(max_length=64, blank=True, verbose_name=_("発生元ID"))
    source = GenericForeignKey("source_type", "source_id")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("作成者"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", verbose_name=_("取消対象")
    )
    # A partial refund points at the sale it refunds part of (a sale can have several; a full refund is a reversal).
    refund_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partial_refunds",
        verbose_name=_("返金対象"),
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("仕訳")
        verbose_name_plural = _("仕訳")
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self):
        return f"#{self.number} {self.date} {self.memo}"


class JournalLine(ImmutableModel):
    """One side of one account in an entry. `date` repeats the entry's date so reports aggregate lines alone.

    `product_ref`/`product_label` tag revenue, discount, cost and stock lines with the shop's product (its SKU) without
    accounting knowing the product model; `tax_rate` tags sales, discount and consumption-tax lines with their rate.
    """

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines", verbose_name=_("仕訳"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines", verbose_name=_("勘定科目"))
    date = models.DateField(verbose_name=_("日付"))
    debit = models.BigIntegerField(default=0, verbose_name=_("借方"))
    credit = models.BigIntegerField(default=0, verbose_name=_("貸方"))
    product_ref = models.CharField(max_length=64, blank=True, verbose_name=_("商品参照"))
    product_label = models.CharField(max_length=200, blank=True, verbose_name=_("商品名"))
    tax_rate = models.PositiveSmallIntegerField(null=True, blank=True, choices=TaxRate.choices, verbose_name=_("税率"))

    class Meta:
        ordering = ["entry_id", "id"]
        verbose_name = _("仕訳明細")
        verbose_name_plural = _("仕訳明細")
        indexes = [
            models.Index(fields=["account", "date"]),
            models.Index(fields=["product_ref", "date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(debit__gte=0) & Q(credit__gte=0), name="accounting_line_non_negative"),
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="accounting_line_one_side",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__isnull=True) | Q(tax_rate__in=TaxRate.values), name="accounting_line_tax_rate"
            ),
        ]

    def __str__(self):
        side = f"借 {self.debit}" if self.debit else f"貸 {self.credit}"
        return f"{self.account.code} {side}"


class TaxCategory(models.TextChoices):
    """The consumption-tax category of a manual entry's line (税区分): taxable at a rate, or outside the tax."""

    TAXABLE_10 = "taxable_10", _("課税 10%")
    TAXABLE_8 = "taxable_8", _("課税 8%（軽減）")
    EXEMPT = "exempt", _("非課税")
    OUT_OF_SCOPE = "out_of_scope", _("不課税・対象外")


TAX_CATEGORY_RATES = {TaxCategory.TAXABLE_10: TaxRate.STANDARD, TaxCategory.TAXABLE_8: TaxRate.REDUCED}


class ManualEntry(models.Model):
    """A Manager's 振替伝票: drafted with its lines and reason, posted at once at or below the approval threshold,
    otherwise when a second Manager approves it. The posted `entry` is the books' record; this row keeps who asked,
    why and who approved."""

    class Status(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        POSTED = "posted", _("記帳済み")
        REJECTED = "rejected", _("却下")

    date = models.DateField(verbose_name=_("日付"))
    memo = models.CharField(max_length=300, verbose_name=_("摘要"))
    reason = models.TextField(verbose_name=_("理由"))
    total_yen = models.BigIntegerField(verbose_name=_("金額（借方合計）"))
    status = models.CharField(max_length=10, choices=Status.choices, verbose_name=_("状態"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("起票者")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("起票日時"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("承認・却下者"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("承認・却下日時"))
    decision_note = models.CharField(max_length=500, blank=True, verbose_name=_("承認・却下のコメント"))
    entry = models.OneToOneField(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="manual_entry",
        verbose_name=_("仕訳"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("振替伝票")
        verbose_name_plural = _("振替伝票")
        permissions = [("approve_manualentry", _("Can approve another Manager's journal entry"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="posted", entry__isnull=False) | (~Q(status="posted") & Q(entry__isnull=True)),
                name="accounting_manual_entry_posted_has_entry",
            )
        ]

    def __str__(self):
        return f"{self.date} {self.memo}"


class ManualEntryLine(models.Model):
    manual_entry = models.ForeignKey(
        ManualEntry, on_delete=models.CASCADE, related_name="lines", verbose_name=_("振替伝票")
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("勘定科目"))
    debit = models.BigIntegerField(default=0, verbose_name=_("借方"))
    credit = models.BigIntegerField(default=0, verbose_name=_("貸方"))
    tax_category = models.CharField(
        max_length=12, choices=TaxCategory.choices, default=TaxCategory.OUT_OF_SCOPE, verbose_name=_("税区分")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("振替伝票の明細")
        verbose_name_plural = _("振替伝票の明細")

    def __str__(self):
        side = f"借 {self.debit}" if self.debit else f"貸 {self.credit}"
        return f"{self.account.code} {side}"


class PayablePayment(models.Model):
    """One payable (the credit of 買掛金 or 未払金 in `payable_entry`) paid by `payment_entry`. A payable is paid
    once: the unique payable entry and account make a second payment a conflict, also under concurrency."""

    payable_entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="payable_payments", verbose_name=_("債務の仕訳")
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("勘定科目"))
    amount_yen = models.BigIntegerField(verbose_name=_("支払額"))
    payment_entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="payments_made", verbose_name=_("支払の仕訳")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("登録日時"))

    class Meta:
        verbose_name = _("債務の支払")
        verbose_name_plural = _("債務の支払")
        constraints = [
            models.UniqueConstraint(fields=["payable_entry", "account"], name="accounting_payable_paid_once"),
            models.CheckConstraint(condition=Q(amount_yen__gt=0), name="accounting_payable_payment_positive"),
        ]

    def __str__(self):
        return f"#{self.payable_entry.number} → #{self.payment_entry.number}"


class PeriodClose(models.Model):
    """One month close (or any close through a date), kept so that the latest can be undone with a reason."""

    through_date = models.DateField(verbose_name=_("締め日"))
    previous_closed_through = models.DateField(null=True, blank=True, verbose_name=_("それまでの締め日"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("締めた人")
    )
    closed_at = models.DateTimeField(auto_now_add=True, verbose_name=_("締めた日時"))
    checklist = models.JSONField(default=list, blank=True, verbose_name=_("締め時点のチェックリスト"))
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("締めを取り消した人"),
    )
    reopened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("締めを取り消した日時"))
    reopen_reason = models.TextField(blank=True, verbose_name=_("取消の理由"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("締めの履歴")
        verbose_name_plural = _("締めの履歴")

    def __str__(self):
        return f"{self.through_date}"
