"""Paying what the shop owes: one or many open payables (買掛金, 未払金) paid from the bank or the till in one entry."""

import datetime
from collections import defaultdict
from collections.abc import Sequence

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from apps.accounting.models import EntryKind, JournalEntry, PayablePayment
from apps.accounting.postings import PAID_FROM_ACCOUNTS, PaidFrom
from apps.accounting.selectors.payables import OpenPayable, open_payables
from apps.accounting.services import LineSpec, journal_entry_post
from apps.accounting.signals import payables_paid
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.roles import is_manager
from apps.core.services import audit_record


@transaction.atomic
def payables_pay(
    *,
    entry_numbers: Sequence[int],
    paid_from: str,
    date: datetime.date,
    actor,
    memo: str = "",
    source: models.Model | None = None,
) -> JournalEntry:
    """Pay what is left of the payables posted by `entry_numbers` (all of 買掛金 and 未払金 in each) from 普通預金 or
    現金, in one entry of kind `payable_payment` dated `date`: 買掛金 / 未払金 against the bank or cash. `source` is
    what the payment was made for when it was not the payables page (a purchase order's pay action); `payables_paid`
    is sent with the new links.

    Refuses (403) anyone but a Manager; (400) an empty list or a source other than bank or cash; (409) a number
    that is not an open payable (unknown, paid already, or being paid by someone else at the same moment)."""
    if not is_manager(actor):
        raise PermissionDenied(_("支払の登録はマネージャーが行います。"))
    numbers = sorted(set(entry_numbers))
    if not numbers:
        raise ValidationError(_("支払う債務を選んでください。"), code="nothing_selected")
    if paid_from not in (PaidFrom.BANK, PaidFrom.CASH):
        raise ValidationError(_("支払元は普通預金か現金です。"), code="invalid_paid_from")
    items = [item for item in open_payables() if item.entry.number in numbers]
    missing = sorted(set(numbers) - {item.entry.number for item in items})
    if missing:
        raise Conflict(
            _("仕訳 %(numbers)s は未払の債務ではありません（支払済みか、存在しません）。")
            % {"numbers": ", ".join(f"#{number}" for number in missing)},
            code="not_open_payable",
            details={"entry_numbers": missing},
        )
    by_account: dict[str, int] = defaultdict(int)
    for item in items:
        by_account[item.account_code] += item.open_amount
    total = sum(by_account.values())
    lines = [LineSpec(account=code, debit=amount) for code, amount in sorted(by_account.items())]
    lines.append(LineSpec(account=PAID_FROM_ACCOUNTS[paid_from], credit=total))
    payment = journal_entry_post(
        date=date,
        memo=memo or _("債務の支払（%(count)s件）") % {"count": len(items)},
        lines=lines,
        kind=EntryKind.PAYABLE_PAYMENT,
        source=source,
        created_by=actor,
    )
    payables_paid.send(sender=PayablePayment, payments=_links_create(items, payment))
    audit_record(
        target=payment,
        action="payables.pay",
        actor=actor,
        data={"entries": numbers, "total_yen": total, "paid_from": paid_from},
    )
    return payment


def _links_create(items: list[OpenPayable], payment: JournalEntry) -> list[PayablePayment]:
    """One link per payable paid; the unique link is what stops a second payment, also at the same moment."""
    try:
        with transaction.atomic():
            return PayablePayment.objects.bulk_create(
                PayablePayment(
                    payable_entry=item.entry,
                    account_id=item.account_id,
                    amount_yen=item.open_amount,
                    payment_entry=payment,
                )
                for item in items
            )
    except IntegrityError as exc:
        raise Conflict(_("選んだ債務の一部はすでに支払われています。"), code="already_paid") from exc
